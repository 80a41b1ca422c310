//go:build unix

package mixer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"
)

// udpSocket is a leg's (or a shared port's) RTP or RTCP socket, kept out of
// Go's network poller on purpose. The room's worker reads it once per tick
// (MSG_DONTWAIT) and writes it without waiting, so nothing ever blocks on
// it; a socket in the poller would instead wake the runtime's epoll wait for
// every arriving packet only to find nobody waiting, which under load was
// most of the server's wake-ups (see docs/design/15_capacity.md).
//
// Its system calls go through syscall.RawSyscall6, not Syscall6: they never
// block (a non-blocking socket, MSG_DONTWAIT), and announcing each to the
// scheduler lets the runtime's sysmon hand the worker's P to another thread
// whenever a batch of sends outlasts its 20 µs check, which under load was
// a thread wake-up per batch for nothing.
type udpSocket struct {
	mu     sync.RWMutex // Close against a worker's read or write
	fd     int
	v6     bool // AF_INET6 (dual stack): IPv4 peers are addressed as ::ffff:a.b.c.d
	closed bool
}

var errSocketClosed = errors.New("mixer: socket closed")

// listenUDP binds a non-blocking UDP socket to addr.
func listenUDP(addr netip.AddrPort) (*udpSocket, error) {
	family := syscall.AF_INET
	v6 := !addr.Addr().Is4()
	if v6 {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("mixer: UDP socket: %w", err)
	}
	var sa syscall.Sockaddr
	if v6 {
		// As net.ListenUDP does for "udp": an IPv6 or unspecified address
		// also takes IPv4.
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0)
		sa = &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	} else {
		sa = &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	return &udpSocket{fd: fd, v6: v6}, nil
}

// Read calls f with the socket's descriptor (the syscall.RawConn shape, so
// the drain functions stay as they were), unless the socket is closed.
func (s *udpSocket) Read(f func(fd uintptr) bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errSocketClosed
	}
	f(uintptr(s.fd))
	return nil
}

// sockaddr writes to as a raw socket address of the socket's family into
// sa (an IPv4 address comes out v4-mapped on a dual-stack socket) and
// returns its length; false means an IPv4 socket was asked for an IPv6
// peer.
func (s *udpSocket) sockaddr(to netip.AddrPort, sa *syscall.RawSockaddrInet6) (uint32, bool) {
	if s.v6 {
		*sa = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: to.Addr().As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		return syscall.SizeofSockaddrInet6, true
	}
	if !to.Addr().Unmap().Is4() {
		return 0, false
	}
	sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
	*sa4 = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: to.Addr().Unmap().As4()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], to.Port())
	return syscall.SizeofSockaddrInet4, true
}

// WriteToUDPAddrPort sends one datagram without waiting: a full socket
// buffer drops it (EAGAIN) rather than stall the room's tick. It allocates
// nothing.
func (s *udpSocket) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	var sa syscall.RawSockaddrInet6
	salen, ok := s.sockaddr(to, &sa)
	if !ok {
		return 0, fmt.Errorf("mixer: an IPv4 socket cannot send to %s", to)
	}
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, errSocketClosed
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd), uintptr(p), uintptr(len(b)), 0, uintptr(unsafe.Pointer(&sa)), uintptr(salen))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// setReadBuffer asks for a receive buffer of n bytes (SO_RCVBUF).
func (s *udpSocket) setReadBuffer(n int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errSocketClosed
	}
	return syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}

// Close releases the socket; it is idempotent.
func (s *udpSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return syscall.Close(s.fd)
}
