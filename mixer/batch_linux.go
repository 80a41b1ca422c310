package mixer

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysSendmmsg is sendmmsg(2), which the standard syscall package lacks on
// some architectures.
const sysSendmmsg = unix.SYS_SENDMMSG

// rxBatchN is how many datagrams one receive call on a leg's own socket may
// return: a 20 ms tick usually finds one or two packets per leg, a DTMF
// burst a few more. A shared port reads sharedBatchN at a time.
const rxBatchN = 4

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2).
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// rxBatch reads up to its size in datagrams with one recvmmsg(2) call, so a
// leg's whole tick of input (or a shared port's, many legs') costs one
// system call. It is allocated once, when the leg or port is made.
type rxBatch struct {
	msgs  []mmsghdr
	iov   []syscall.Iovec
	names []syscall.RawSockaddrAny
	bufs  [][maxDatagram]byte
}

func (b *rxBatch) init(n int) {
	b.msgs = make([]mmsghdr, n)
	b.iov = make([]syscall.Iovec, n)
	b.names = make([]syscall.RawSockaddrAny, n)
	b.bufs = make([][maxDatagram]byte, n)
	for i := range b.msgs {
		b.iov[i].Base = &b.bufs[i][0]
		b.iov[i].SetLen(maxDatagram)
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].hdr.Iov = &b.iov[i]
		b.msgs[i].hdr.Iovlen = 1
	}
}

// size is how many datagrams one recv may return.
func (b *rxBatch) size() int { return len(b.msgs) }

// recv returns how many datagrams arrived, at most max (0 with
// syscall.EAGAIN when none).
func (b *rxBatch) recv(fd uintptr, max int) (int, error) {
	max = min(max, len(b.msgs))
	for i := range max {
		b.msgs[i].hdr.Namelen = syscall.SizeofSockaddrAny
		b.msgs[i].hdr.Flags = 0
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.msgs[0])), uintptr(max), syscall.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// packet returns datagram i of the last recv and its source. A datagram
// longer than the buffer was truncated by the kernel (MSG_TRUNC) and comes
// back longer than maxDatagram so the caller refuses it.
func (b *rxBatch) packet(i int) ([]byte, netip.AddrPort) {
	n := int(b.msgs[i].n)
	if b.msgs[i].hdr.Flags&syscall.MSG_TRUNC != 0 {
		return b.bufs[i][:], netip.AddrPort{}
	}
	return b.bufs[i][:n], sockaddrToAddrPort(&b.names[i])
}

// txBatch collects a tick's datagrams for one socket and sends them with
// one sendmmsg(2) call. It holds the packets' buffers, not copies: each
// leg's outgoing packet lives in the leg until its next tick, and the batch
// is flushed before that.
type txBatch struct {
	msgs  [sharedBatchN]mmsghdr
	iov   [sharedBatchN]syscall.Iovec
	names [sharedBatchN]syscall.RawSockaddrInet6 // big enough for IPv4 too
	n     int
}

// add queues b for to; it reports false when the batch is full (flush
// first) or to cannot be reached from this socket's family.
func (t *txBatch) add(s *udpSocket, b []byte, to netip.AddrPort) bool {
	if t.n == len(t.msgs) || len(b) == 0 {
		return false
	}
	salen, ok := s.sockaddr(to, &t.names[t.n])
	if !ok {
		return false
	}
	m := &t.msgs[t.n]
	t.iov[t.n].Base = &b[0]
	t.iov[t.n].SetLen(len(b))
	m.hdr = syscall.Msghdr{Name: (*byte)(unsafe.Pointer(&t.names[t.n])), Namelen: salen, Iov: &t.iov[t.n], Iovlen: 1}
	t.n++
	return true
}

// flush sends what is queued and reports how many datagrams could not be
// sent. A datagram the kernel refuses (a full socket buffer, an
// unreachable address) is skipped so it never holds back the rest.
func (t *txBatch) flush(s *udpSocket) (failed int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		failed, t.n = t.n, 0
		return failed
	}
	for i := 0; i < t.n; {
		sent, _, errno := syscall.RawSyscall6(sysSendmmsg, uintptr(s.fd), uintptr(unsafe.Pointer(&t.msgs[i])), uintptr(t.n-i), syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == syscall.EINTR:
		case errno != 0:
			failed++
			i++ // the first one failed: skip it
		default:
			i += int(sent)
		}
	}
	clear(t.iov[:t.n]) // drop the references to the legs' buffers
	t.n = 0
	return failed
}
