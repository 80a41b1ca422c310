//go:build unix

package mixer

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// TestUDPSocketSendsAndReceives covers the poller-free leg socket on IPv4 and
// on a dual-stack IPv6 socket talking to an IPv4 peer.
func TestUDPSocketSendsAndReceives(t *testing.T) {
	for _, bind := range []string{"127.0.0.1:0", "[::]:0"} {
		t.Run(bind, func(t *testing.T) {
			s, err := listenUDP(netip.MustParseAddrPort(bind))
			if err != nil {
				t.Skipf("cannot bind %s here: %v", bind, err)
			}
			defer s.Close()
			sa, err := syscall.Getsockname(s.fd)
			if err != nil {
				t.Fatal(err)
			}
			var port int
			switch a := sa.(type) {
			case *syscall.SockaddrInet4:
				port = a.Port
			case *syscall.SockaddrInet6:
				port = a.Port
			}
			peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			if _, err := peer.WriteToUDPAddrPort([]byte("in"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))); err != nil {
				t.Fatal(err)
			}
			var got []byte
			var from netip.AddrPort
			deadline := time.Now().Add(5 * time.Second)
			for got == nil && time.Now().Before(deadline) {
				buf := make([]byte, 64)
				var rsa syscall.RawSockaddrAny
				if err := s.Read(func(fd uintptr) bool {
					n, f, err := recvFrom(fd, buf, &rsa)
					if err == nil {
						got, from = buf[:n], f
					}
					return true
				}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			if string(got) != "in" || from != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
				t.Fatalf("read %q from %v; want \"in\" from %v", got, from, peer.LocalAddr())
			}
			if _, err := s.WriteToUDPAddrPort([]byte("out"), from); err != nil {
				t.Fatal(err)
			}
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, _, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != "out" {
				t.Fatalf("the peer got %q, %v; want \"out\"", buf[:n], err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("a second Close: %v", err)
			}
			if err := s.Read(func(uintptr) bool { t.Error("read a closed socket"); return true }); err == nil {
				t.Error("Read of a closed socket gave no error")
			}
			if _, err := s.WriteToUDPAddrPort([]byte("x"), from); err == nil {
				t.Error("a write to a closed socket gave no error")
			}
		})
	}
}
