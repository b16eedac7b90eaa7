package clusterdns

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePortServesUDPAndTCP: port 0 gives one port free for both protocols.
func TestFreePortServesUDPAndTCP(t *testing.T) {
	for range 20 {
		host, port, err := freePort("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("udp %s: %v", addr, err)
		}
		l, err := net.Listen("tcp", addr)
		pc.Close()
		if err != nil {
			t.Fatalf("tcp %s: %v", addr, err)
		}
		l.Close()
	}
}

// TestFreePortNamesABadAddress: a listen address without a port, or with a bad one, is refused
// with the address in the error.
func TestFreePortNamesABadAddress(t *testing.T) {
	for _, addr := range []string{"no-port", "127.0.0.1:dns"} {
		if _, _, err := freePort(addr); err == nil {
			t.Errorf("%q was accepted", addr)
		}
	}
}
