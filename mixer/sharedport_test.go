package mixer

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"cusax.dev/bridge/mixer/codec"
)

// stepWire is the harness's step over the real sockets: every leg's phone
// sends its packet to the leg's port, then the room ticks.
func (h *harness) stepWire() [][]int16 {
	h.t.Helper()
	for i, l := range h.legs {
		if l.closed.Load() {
			continue
		}
		if _, err := h.peers[i].WriteToUDPAddrPort(h.packet(i), l.local); err != nil {
			h.t.Fatal(err)
		}
	}
	return h.tick()
}

// sharedPorts reads bridge_mixer_shared_ports.
func sharedPorts(m *Mixer) float64 {
	var pb dto.Metric
	if err := m.met.sharedPorts.Write(&pb); err != nil {
		panic(err)
	}
	return pb.GetGauge().GetValue()
}

// inUse reports whether the pool has port handed out.
func (p *portPool) isInUse(port int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse[port]
}

// TestSharedPortPlacement: legs whose peers' addresses are known share their
// room's ports, up to LegsPerPort each and never two with the same peer
// address; legs behind a NAT or without an address, and legs of other
// rooms, get ports apart; a port is released with its last leg.
func TestSharedPortPlacement(t *testing.T) {
	m := newTestMixer(t, Config{LegsPerPort: 2})
	peer := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(loopback, port) }
	add := func(room string, remote netip.AddrPort, nat bool) *Leg {
		t.Helper()
		l, err := m.AddLeg(LegConfig{Room: room, Codec: CodecSpec{Name: codec.PCMU}, Remote: remote, BehindNAT: nat})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := add("r", peer(5000), false)
	b := add("r", peer(5002), false)
	c := add("r", peer(5004), false)
	twin := add("r", peer(5000), false) // a's address again
	nat := add("r", peer(5006), true)
	blind := add("r", netip.AddrPort{}, false)
	other := add("other", peer(5008), false)

	if a.LocalAddr() != b.LocalAddr() {
		t.Errorf("a on %v and b on %v: want them sharing a port", a.LocalAddr(), b.LocalAddr())
	}
	if c.LocalAddr() == a.LocalAddr() {
		t.Errorf("c shares a's full port %v (LegsPerPort 2)", c.LocalAddr())
	}
	if twin.LocalAddr() == a.LocalAddr() {
		t.Errorf("a leg with a's peer address shares a's port %v: their packets could not be told apart", a.LocalAddr())
	}
	if twin.LocalAddr() != c.LocalAddr() {
		t.Errorf("twin on %v, want it on c's port %v, which had room", twin.LocalAddr(), c.LocalAddr())
	}
	seen := map[netip.AddrPort]string{a.LocalAddr(): "a", c.LocalAddr(): "c"}
	for name, l := range map[string]*Leg{"behind a NAT": nat, "without an address": blind, "of another room": other} {
		if who, ok := seen[l.LocalAddr()]; ok {
			t.Errorf("the leg %s shares %s's port %v", name, who, l.LocalAddr())
		}
		seen[l.LocalAddr()] = name
	}
	if nat.shared != nil || blind.shared != nil {
		t.Error("a leg behind a NAT or without an address is on a shared port")
	}
	if got := sharedPorts(m); got != 3 {
		t.Errorf("bridge_mixer_shared_ports = %v, want 3 (two in r, one in other)", got)
	}
	// The shared socket's receive buffer was raised as far as the kernel
	// lets it (Linux reports twice what was asked).
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		rmemMax, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		got, err := syscall.GetsockoptInt(a.shared.rtp.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if want := 2 * min(sharedReadBuffer, rmemMax); err != nil || got < want {
			t.Errorf("shared RTP socket's SO_RCVBUF = %d (%v), want at least %d", got, err, want)
		}
	}

	port := a.LocalAddr().Port()
	a.Close()
	if !m.ports.isInUse(int(port)) {
		t.Error("the shared port was released while b still uses it")
	}
	b.Close()
	if m.ports.isInUse(int(port)) {
		t.Error("the shared port was not released with its last leg")
	}
	if got := sharedPorts(m); got != 2 {
		t.Errorf("bridge_mixer_shared_ports = %v after a port's last leg left, want 2", got)
	}

	own := newTestMixer(t, Config{LegsPerPort: 1, PortMin: 38000, PortMax: 38999})
	x, err := own.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: codec.PCMU}, Remote: peer(5000)})
	if err != nil {
		t.Fatal(err)
	}
	y, err := own.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: codec.PCMU}, Remote: peer(5002)})
	if err != nil {
		t.Fatal(err)
	}
	if x.LocalAddr() == y.LocalAddr() || x.shared != nil {
		t.Errorf("with LegsPerPort 1 the legs are on %v and %v (shared %v), want ports of their own", x.LocalAddr(), y.LocalAddr(), x.shared != nil)
	}

	for _, bad := range []int{-1, sharedBatchN + 1} {
		if _, err := New(Config{LegsPerPort: bad}); err == nil {
			t.Errorf("New accepted LegsPerPort %d", bad)
		}
	}
}

// TestSharedPortRoutesByAddress: legs sharing a port each get their own
// phone's audio and their own N-1 mix over the real sockets, and a stranger
// sending to the port is dropped, counted, and heard by nobody.
func TestSharedPortRoutesByAddress(t *testing.T) {
	h := newHarness(t, codec.PCMU, 3, Config{})
	for _, l := range h.legs[1:] {
		if l.LocalAddr() != h.legs[0].LocalAddr() {
			t.Fatalf("legs on %v and %v, want one shared port", h.legs[0].LocalAddr(), l.LocalAddr())
		}
	}
	h.tones[0], h.tones[1] = tone(600), tone(1500)
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	h.runWith(10, h.stepWire)
	before := dropped(h.m, dropSource)
	gen := tone(1000)
	enc, _ := codec.NewEncoder(codec.PCMU)
	pcm, pay := make([]int16, codec.FrameSamples), make([]byte, codec.MaxPayload)
	const ticks = 25
	k := 0
	got := h.runWith(ticks, func() [][]int16 {
		gen.Fill(pcm)
		n, _ := enc.Encode(pcm, pay)
		if _, err := stranger.WriteToUDPAddrPort(rtpBytes(t, 96, uint16(k), uint32(k)*160, 0x5555, pay[:n]), h.legs[0].LocalAddr()); err != nil {
			t.Fatal(err)
		}
		k++
		return h.stepWire()
	})
	if d := dropped(h.m, dropSource) - before; d != ticks {
		t.Errorf("dropped{reason=source} grew by %v, want the stranger's %d packets", d, ticks)
	}
	freqs := []float64{600, 1500, 1000}
	checkHears(t, "leg 0", got[0][3200:], freqs, func(j int) bool { return j == 1 })
	checkHears(t, "leg 1", got[1][3200:], freqs, func(j int) bool { return j == 0 })
	checkHears(t, "leg 2", got[2][3200:], freqs, func(j int) bool { return j < 2 })
}

// TestSharedPortLatchesOnlyWhenUnambiguous: a phone that sends from another
// port of the host its SDP named is latched when it is the only leg of
// that host still waiting for media; while two are waiting, a packet from a
// new port could be either's (or a stranger's) and is dropped.
func TestSharedPortLatchesOnlyWhenUnambiguous(t *testing.T) {
	h := newHarness(t, codec.PCMU, 3, Config{MaxTalkers: 3})
	// Legs 1 and 2 announce ports nobody sends from; their phones' real
	// sockets are elsewhere on the same host.
	for i, port := range map[int]uint16{1: 7, 2: 9} {
		l := h.legs[i]
		l.out.remote = netip.AddrPortFrom(loopback, port)
		l.cfg.Remote = l.out.remote
	}
	h.tones[0], h.tones[1], h.tones[2] = tone(600), tone(1500), tone(2400)
	// Only leg 0 sends at first, from its announced address: it latches.
	send := func(i int) {
		if _, err := h.peers[i].WriteToUDPAddrPort(h.packet(i), h.legs[i].LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	send(0)
	h.r.tick(time.Now())
	if !h.legs[0].out.latched {
		t.Fatal("leg 0 did not latch to its announced address")
	}
	// Legs 1 and 2 are both waiting on 127.0.0.1: leg 1's packet from an
	// unannounced port is not given to either.
	before := dropped(h.m, dropSource)
	send(1)
	h.r.tick(time.Now())
	if h.legs[1].out.latched || h.legs[2].out.latched {
		t.Fatal("a packet from an unannounced port latched a leg while two legs of that host were waiting")
	}
	if dropped(h.m, dropSource) != before+1 {
		t.Error("the ambiguous packet was not counted as dropped{reason=source}")
	}
	// Leg 2 goes away: leg 1 is the only one waiting and latches.
	h.legs[2].Close()
	for range 3 {
		send(0)
		send(1)
		h.r.tick(time.Now())
	}
	real := h.peers[1].LocalAddr().(*net.UDPAddr).AddrPort()
	if !h.legs[1].out.latched || h.legs[1].out.remote != real {
		t.Fatalf("leg 1 latched=%v to %v, want %v", h.legs[1].out.latched, h.legs[1].out.remote, real)
	}
	var got []int16
	for range 25 {
		send(0)
		send(1)
		got = append(got, h.tick()[1]...)
	}
	checkHears(t, "leg 1 at its real port", got[3200:], []float64{600, 1500}, func(j int) bool { return j == 0 })
}

// TestSharedPortRTCP: an RTCP BYE sent to a shared port's RTCP port reaches
// the leg whose media carries its SSRC, even from a port that is not RTP's
// port + 1, and no other leg.
func TestSharedPortRTCP(t *testing.T) {
	var log eventLog
	h := newHarness(t, codec.PCMU, 2, Config{OnEvent: log.add})
	h.runWith(5, h.stepWire) // both legs latch and learn their phones' SSRCs
	rtcpPort := netip.AddrPortFrom(h.legs[0].LocalAddr().Addr(), h.legs[0].LocalAddr().Port()+1)
	bye := []byte{0x81, 203, 0, 1, 0, 0, 0xab, 0xc1} // SSRC 0xabc1: leg 1's phone
	if _, err := h.peers[1].WriteToUDPAddrPort(bye, rtcpPort); err != nil {
		t.Fatal(err)
	}
	for range 2 * rtcpDrainEvery {
		h.stepWire()
		if len(log.of(EventRTCPBye)) > 0 {
			break
		}
	}
	ev := log.of(EventRTCPBye)
	if len(ev) != 1 || ev[0].LegID != h.legs[1].ID() {
		t.Errorf("BYE events %+v, want one for leg %d", ev, h.legs[1].ID())
	}
}

func ExampleConfig_legsPerPort() {
	m, err := New(Config{BindAddr: loopback, PortMin: 39800, PortMax: 39899, LegsPerPort: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	a, _ := m.AddLeg(LegConfig{Room: "standup", Codec: CodecSpec{Name: codec.PCMU}, Remote: netip.MustParseAddrPort("127.0.0.1:4000")})
	b, _ := m.AddLeg(LegConfig{Room: "standup", Codec: CodecSpec{Name: codec.PCMU}, Remote: netip.MustParseAddrPort("127.0.0.1:4002")})
	c, _ := m.AddLeg(LegConfig{Room: "standup", Codec: CodecSpec{Name: codec.PCMU}, Remote: netip.MustParseAddrPort("192.168.1.20:4000"), BehindNAT: true})
	fmt.Println(a.LocalAddr() == b.LocalAddr(), a.LocalAddr() == c.LocalAddr())
	// Output: true false
}
