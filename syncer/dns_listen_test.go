package syncer

import (
	"net"
	"testing"
)

func TestListenUDPAndTCPSharesThePort(t *testing.T) {
	for range 50 {
		pc, l, err := listenUDPAndTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		udp := pc.LocalAddr().(*net.UDPAddr).Port
		tcp := l.Addr().(*net.TCPAddr).Port
		pc.Close()
		l.Close()
		if udp != tcp {
			t.Fatalf("udp port %d, tcp port %d", udp, tcp)
		}
	}
}

func TestListenUDPAndTCPNamesABadAddress(t *testing.T) {
	if _, _, err := listenUDPAndTCP("no-port"); err == nil {
		t.Fatal("an address without a port was accepted")
	}
}
