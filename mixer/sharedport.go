package mixer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
)

// sharedBatchN is how many datagrams one recvmmsg or sendmmsg on a shared
// port carries, and the most legs one port may hold (Config.LegsPerPort):
// a tick's packets of a full port fit one call each way.
const sharedBatchN = 64

// sharedReadBuffer is the receive buffer asked for a shared RTP socket: a
// full port's packets for a few ticks, so a worker held up by a busy
// machine does not lose them, as a leg's own socket would not (the kernel
// caps it at net.core.rmem_max).
const sharedReadBuffer = 1 << 20

// sharedPort is an RTP/RTCP port pair that several legs of one room use.
// The room reads it once per tick with recvmmsg, hands each packet to the
// leg whose peer sent it, and sends all its legs' mixes with one sendmmsg:
// a few system calls per tick for the port instead of two per leg (see
// docs/design/15_capacity.md).
//
// A packet is that leg's whose negotiated or latched address sent it;
// anything else is dropped, as on a leg's own port after latching. Legs
// whose media may come from an address nobody announced (behind a NAT,
// LegConfig.BehindNAT, or with no address in SDP) get a port of their own,
// where the first source is latched as RFC 4961 allows: on a shared port a
// stranger could not be told from them. The one leeway a shared port gives
// is a new source port on the host a leg announced, while that leg has not
// latched and is the only one waiting from that host.
type sharedPort struct {
	m         *Mixer
	room      *room
	rtp, rtcp *udpSocket
	port      int
	local     netip.AddrPort

	// assigned are the legs given this port and not yet closed, under the
	// mixer's mu; they decide whether a new leg fits.
	assigned []*Leg

	// Worker-owned from here on.
	members []*Leg
	byAddr  map[netip.AddrPort]*Leg // each member's current peer address
	rx      rxBatch
	tx      txBatch
	rtcpBuf [maxDatagram]byte
	rtcpSA  syscall.RawSockaddrAny
}

// attachShared gives l a port shared with other legs of r, binding a new
// one when every port of r is full or already expects l's peer address.
// Callers hold m.mu.
func (m *Mixer) attachShared(r *room, l *Leg) error {
	remote := l.cfg.Remote
	var sp *sharedPort
	for _, p := range r.ports {
		if len(p.assigned) < m.cfg.LegsPerPort && !p.expects(remote) {
			sp = p
			break
		}
	}
	if sp == nil {
		a, b, port, err := m.ports.bind()
		if err != nil {
			return err
		}
		sp = &sharedPort{m: m, room: r, rtp: a, rtcp: b, port: port, local: netip.AddrPortFrom(m.cfg.BindAddr, uint16(port)), byAddr: map[netip.AddrPort]*Leg{}}
		sp.rx.init(sharedBatchN)
		if err := a.setReadBuffer(sharedReadBuffer); err != nil {
			m.log.Debug("shared RTP port: receive buffer not raised", "port", port, "err", err)
		}
		r.ports = append(r.ports, sp)
		m.met.sharedPorts.Inc()
	}
	sp.assigned = append(sp.assigned, l)
	l.shared = sp
	l.rtcpConn = sp.rtcp
	l.port, l.local = sp.port, sp.local
	return nil
}

// expects reports whether a leg on the port already has remote as its
// negotiated peer. Callers hold m.mu.
func (sp *sharedPort) expects(remote netip.AddrPort) bool {
	for _, l := range sp.assigned {
		l.cfgMu.Lock()
		same := l.cfg.Remote == remote
		l.cfgMu.Unlock()
		if same {
			return true
		}
	}
	return false
}

// detachShared takes a closed leg off its port, and closes the port once
// no leg is left on it.
func (m *Mixer) detachShared(l *Leg) {
	sp := l.shared
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.Index(sp.assigned, l)
	if i < 0 {
		return
	}
	sp.assigned = slices.Delete(sp.assigned, i, i+1)
	if len(sp.assigned) > 0 {
		return
	}
	if j := slices.Index(sp.room.ports, sp); j >= 0 {
		sp.room.ports = slices.Delete(sp.room.ports, j, j+1)
	}
	sp.rtp.Close()
	sp.rtcp.Close()
	m.ports.release(sp.port)
	m.met.sharedPorts.Dec()
}

// join starts routing l's packets (worker side, from the room's reconcile).
func (sp *sharedPort) join(l *Leg) {
	sp.members = append(sp.members, l)
	sp.route(l, l.out.remote)
}

// leave stops routing a closed leg's packets.
func (sp *sharedPort) leave(l *Leg) {
	if i := slices.Index(sp.members, l); i >= 0 {
		sp.members = slices.Delete(sp.members, i, i+1)
	}
	if l.key.IsValid() && sp.byAddr[l.key] == l {
		delete(sp.byAddr, l.key)
	}
	l.key = netip.AddrPort{}
}

// route makes addr l's address on the port, unless another leg has it.
func (sp *sharedPort) route(l *Leg, addr netip.AddrPort) {
	if l.key == addr {
		return
	}
	if l.key.IsValid() && sp.byAddr[l.key] == l {
		delete(sp.byAddr, l.key)
	}
	l.key = netip.AddrPort{}
	if !addr.IsValid() {
		return
	}
	if other := sp.byAddr[addr]; other != nil && other != l {
		l.m.log.Debug("shared RTP port: peer address already taken", "leg", l.id, "other", other.id, "addr", addr)
		return
	}
	sp.byAddr[addr] = l
	l.key = addr
}

// drain reads what waits on the port and hands each packet to its leg. A
// flood costs the room at most a few packets per leg per tick; the rest
// waits in (or overflows) the kernel's buffer.
func (sp *sharedPort) drain() {
	budget := rxMaxPerTick * len(sp.members)
	for budget > 0 {
		var n int
		err := sp.rtp.Read(func(fd uintptr) bool {
			var err error
			n, err = sp.rx.recv(fd, budget)
			if err != nil && !isWouldBlock(err) {
				n = 0
			}
			return true
		})
		if err != nil || n == 0 {
			return
		}
		for i := range n {
			b, from := sp.rx.packet(i)
			sp.deliver(b, from)
		}
		if n < min(budget, sp.rx.size()) {
			return
		}
		budget -= n
	}
}

// deliver hands one datagram to the leg its source belongs to.
func (sp *sharedPort) deliver(b []byte, from netip.AddrPort) {
	l := sp.byAddr[from]
	if l == nil {
		l = sp.waitingOn(from)
		if l == nil {
			sp.m.met.dropped[dropSource].Inc()
			return
		}
		l.handleRTP(b, from)
		if l.out.latched && l.out.remote == from {
			sp.route(l, from)
		}
		return
	}
	if !l.closed.Load() {
		l.handleRTP(b, from)
	}
}

// waitingOn is the one unlatched leg expecting media from from's host, or
// nil when there is none or more than one (a stranger cannot be told from
// them, so nobody gets the packet).
func (sp *sharedPort) waitingOn(from netip.AddrPort) *Leg {
	var found *Leg
	for _, l := range sp.members {
		if l.out.latched || l.closed.Load() || l.out.remote.Addr() != from.Addr() {
			continue
		}
		if found != nil {
			return nil
		}
		found = l
	}
	return found
}

// drainRTCP reads the port's RTCP and hands each report to its leg (see
// rtcpLeg); handleRTCP then checks it as on a port of the leg's own.
func (sp *sharedPort) drainRTCP() {
	sp.rtcp.Read(func(fd uintptr) bool {
		for range rxMaxPerTick {
			n, from, err := recvFrom(fd, sp.rtcpBuf[:], &sp.rtcpSA)
			if err != nil {
				return true
			}
			if l := sp.rtcpLeg(sp.rtcpBuf[:n], from); l != nil && !l.closed.Load() {
				l.handleRTCP(sp.rtcpBuf[:n], from)
			} else {
				sp.m.met.dropped[dropSource].Inc()
			}
		}
		return true
	})
}

// rtcpLeg finds the leg a compound RTCP packet b from from belongs to: the
// one already latched to from, else the one on from's host whose media
// carries the packet's sender SSRC (RTCP's first word after the header, in
// the clear in SRTCP too), else the one whose media comes from the port
// below (RTCP on RTP's port + 1, RFC 3550), else the only leg on that host.
func (sp *sharedPort) rtcpLeg(b []byte, from netip.AddrPort) *Leg {
	var ssrc uint32
	haveSSRC := len(b) >= 8
	if haveSSRC {
		ssrc = binary.BigEndian.Uint32(b[4:8])
	}
	var bySSRC, onHost *Leg
	hosts := 0
	for _, l := range sp.members {
		if l.rtcp.latched && l.rtcp.remote == from {
			return l
		}
		if l.out.remote.Addr() != from.Addr() {
			continue
		}
		hosts++
		onHost = l
		if haveSSRC && l.rx.haveSSR && l.rx.ssrc == ssrc {
			bySSRC = l
		}
	}
	if bySSRC != nil {
		return bySSRC
	}
	if from.Port() > 0 {
		if l := sp.byAddr[netip.AddrPortFrom(from.Addr(), from.Port()-1)]; l != nil {
			return l
		}
	}
	if hosts == 1 {
		return onHost
	}
	return nil
}

// send queues one of a leg's packets for the tick's sendmmsg.
func (sp *sharedPort) send(b []byte, to netip.AddrPort) error {
	if sp.tx.add(sp.rtp, b, to) {
		return nil
	}
	if sp.tx.n > 0 {
		sp.flush()
		if sp.tx.add(sp.rtp, b, to) {
			return nil
		}
	}
	return fmt.Errorf("mixer: cannot send to %s from shared port %d", to, sp.port)
}

// flush sends the queued packets; the ones the kernel refused are taken
// off the room's sent count.
func (sp *sharedPort) flush() {
	if sp.tx.n == 0 {
		return
	}
	if failed := sp.tx.flush(sp.rtp); failed > 0 {
		sp.room.sent -= uint64(min(failed, int(sp.room.sent)))
	}
}
