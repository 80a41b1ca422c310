package mixer

import (
	"net/netip"
	"syscall"
	"unsafe"
)

// rxBatchN is how many datagrams one receive call may return: a 20 ms tick
// usually finds one or two packets per leg, a DTMF burst a few more.
const rxBatchN = 4

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// rxBatch reads up to rxBatchN datagrams with one recvmmsg(2) call, so a
// leg's whole tick of input costs one system call, like a plain
// receive-and-forward would. All of it lives in the leg: no allocation.
type rxBatch struct {
	msgs  [rxBatchN]mmsghdr
	iov   [rxBatchN]syscall.Iovec
	names [rxBatchN]syscall.RawSockaddrAny
	bufs  [rxBatchN][maxDatagram]byte
}

func (b *rxBatch) init() {
	for i := range b.msgs {
		b.iov[i].Base = &b.bufs[i][0]
		b.iov[i].SetLen(maxDatagram)
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].hdr.Iov = &b.iov[i]
		b.msgs[i].hdr.Iovlen = 1
	}
}

// recv returns how many datagrams arrived (0 with syscall.EAGAIN when none).
func (b *rxBatch) recv(fd uintptr) (int, error) {
	for i := range b.msgs {
		b.msgs[i].hdr.Namelen = syscall.SizeofSockaddrAny
		b.msgs[i].hdr.Flags = 0
	}
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.msgs[0])), rxBatchN, syscall.MSG_DONTWAIT, 0, 0)
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
