package connect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// runCommand runs Options.Command with KUBECONFIG set to a temporary copy of kc, while fwd (if
// any) forwards, and turns a non-zero exit into *ExitError.
func (s *session) runCommand(ctx context.Context, kc *clientcmdapi.Config, fwd *forwarder) error {
	path, cleanup, err := writeTempKubeconfig(kc, s.o.Name)
	if err != nil {
		return err
	}
	defer cleanup()

	cmd := exec.Command(s.o.Command[0], s.o.Command[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.o.Stdin, s.out, s.errOut
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	// ctrl+c reaches the command through the terminal's process group; vkube outlives it to
	// clean up, and hands a SIGTERM of its own on.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.o.Command[0], err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var lost <-chan error
	if fwd != nil {
		lost = fwd.Err()
	}
	done := ctx.Done()
	for {
		select {
		case err := <-waited:
			return exitError(err)
		case sig := <-sigs:
			if sig == syscall.SIGTERM {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
		case <-done:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done = nil
		case err := <-lost:
			fmt.Fprintf(s.errOut, "warning: %v\n", err)
			lost = nil
		}
	}
}

// exitError maps a command's Wait error to *ExitError; a signal death is 128+signal, as in shells.
func exitError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	code := ee.ExitCode()
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code <= 0 {
		code = 1
	}
	return &ExitError{Code: code}
}

// writeTempKubeconfig writes kc to a new 0600 file and returns its path and its removal.
func writeTempKubeconfig(kc *clientcmdapi.Config, name string) (string, func(), error) {
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp("", "vkube-"+name+"-*.kubeconfig")
	if err != nil {
		return "", nil, fmt.Errorf("temporary kubeconfig: %w", err)
	}
	cleanup := func() { _ = os.Remove(f.Name()) }
	if _, err := f.Write(data); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("temporary kubeconfig: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("temporary kubeconfig: %w", err)
	}
	return f.Name(), cleanup, nil
}
