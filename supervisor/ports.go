package supervisor

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

// apiHost is where vkube itself reaches the API: the bind address, or loopback when that is a
// wildcard.
func apiHost(o Options) string {
	if o.BindAddress == "0.0.0.0" || o.BindAddress == "::" || o.BindAddress == "" {
		return "127.0.0.1"
	}
	return o.BindAddress
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree waits a little for the port: the children of a vkube killed a moment ago may
// still be exiting and holding it.
func checkPortFree(host string, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return l.Close()
		}
		// Only a port in use may free itself (a previous run's API server still exiting).
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("API address %s: %v: check --bind-address and --port", net.JoinHostPort(host, strconv.Itoa(port)), errOf(err))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API port %s:%d is in use: stop what listens there or pass another --port", host, port)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
