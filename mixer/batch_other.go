//go:build unix && !linux

package mixer

import (
	"net/netip"
	"syscall"
)

const rxBatchN = 4

// rxBatch reads up to its size in datagrams with one recvfrom(2) call each
// (recvmmsg is Linux-only).
type rxBatch struct {
	sa    syscall.RawSockaddrAny
	lens  []int
	froms []netip.AddrPort
	bufs  [][maxDatagram]byte
}

func (b *rxBatch) init(n int) {
	b.lens = make([]int, n)
	b.froms = make([]netip.AddrPort, n)
	b.bufs = make([][maxDatagram]byte, n)
}

func (b *rxBatch) size() int { return len(b.bufs) }

func (b *rxBatch) recv(fd uintptr, max int) (int, error) {
	for i := range min(max, len(b.bufs)) {
		n, from, err := recvFrom(fd, b.bufs[i][:], &b.sa)
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		b.lens[i], b.froms[i] = n, from
	}
	return min(max, len(b.bufs)), nil
}

func (b *rxBatch) packet(i int) ([]byte, netip.AddrPort) { return b.bufs[i][:b.lens[i]], b.froms[i] }

// txBatch sends a tick's datagrams one sendto(2) each (sendmmsg is
// Linux-only).
type txBatch struct {
	pkts [sharedBatchN][]byte
	tos  [sharedBatchN]netip.AddrPort
	n    int
}

func (t *txBatch) add(s *udpSocket, b []byte, to netip.AddrPort) bool {
	var sa syscall.RawSockaddrInet6
	if t.n == len(t.pkts) || len(b) == 0 {
		return false
	}
	if _, ok := s.sockaddr(to, &sa); !ok {
		return false
	}
	t.pkts[t.n], t.tos[t.n] = b, to
	t.n++
	return true
}

func (t *txBatch) flush(s *udpSocket) (failed int) {
	for i := range t.n {
		if _, err := s.WriteToUDPAddrPort(t.pkts[i], t.tos[i]); err != nil {
			failed++
		}
		t.pkts[i] = nil
	}
	t.n = 0
	return failed
}
