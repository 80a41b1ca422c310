//go:build unix && !linux

package mixer

import (
	"net/netip"
	"syscall"
)

const rxBatchN = 4

// rxBatch reads up to rxBatchN datagrams with one recvfrom(2) call each
// (recvmmsg is Linux-only).
type rxBatch struct {
	sa    syscall.RawSockaddrAny
	lens  [rxBatchN]int
	froms [rxBatchN]netip.AddrPort
	bufs  [rxBatchN][maxDatagram]byte
}

func (b *rxBatch) init() {}

func (b *rxBatch) recv(fd uintptr) (int, error) {
	for i := range rxBatchN {
		n, from, err := recvFrom(fd, b.bufs[i][:], &b.sa)
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		b.lens[i], b.froms[i] = n, from
	}
	return rxBatchN, nil
}

func (b *rxBatch) packet(i int) ([]byte, netip.AddrPort) { return b.bufs[i][:b.lens[i]], b.froms[i] }
