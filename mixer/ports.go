package mixer

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// errNoPorts reports an exhausted RTP port range.
var errNoPorts = errors.New("mixer: no free RTP/RTCP port pair in range")

// portPool hands out even RTP ports (RTCP on the next odd one) from the
// configured range, round-robin so a port just released is not reused at once
// (late packets of the old call would land in the new one).
type portPool struct {
	addr     netip.Addr
	min, max int
	mu       sync.Mutex
	cursor   int
	inUse    map[int]bool
}

func newPortPool(addr netip.Addr, min, max int) *portPool {
	if min%2 != 0 {
		min++
	}
	return &portPool{addr: addr, min: min, max: max, cursor: min, inUse: make(map[int]bool)}
}

// bind finds a free even port p in range where both p and p+1 bind.
func (p *portPool) bind() (rtpConn, rtcpConn *udpSocket, port int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := (p.max - p.min + 1) / 2
	var lastErr error
	for range n {
		port := p.cursor
		p.cursor += 2
		if p.cursor+1 > p.max {
			p.cursor = p.min
		}
		if p.inUse[port] {
			continue
		}
		a, err := listenUDP(netip.AddrPortFrom(p.addr, uint16(port)))
		if err != nil {
			lastErr = err
			continue
		}
		b, err := listenUDP(netip.AddrPortFrom(p.addr, uint16(port+1)))
		if err != nil {
			a.Close()
			lastErr = err
			continue
		}
		p.inUse[port] = true
		return a, b, port, nil
	}
	if lastErr != nil {
		return nil, nil, 0, fmt.Errorf("%w %d-%d on %s: last error: %w", errNoPorts, p.min, p.max, p.addr, lastErr)
	}
	return nil, nil, 0, fmt.Errorf("%w %d-%d on %s", errNoPorts, p.min, p.max, p.addr)
}

func (p *portPool) release(port int) {
	p.mu.Lock()
	delete(p.inUse, port)
	p.mu.Unlock()
}
