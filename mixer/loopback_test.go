package mixer

import (
	"errors"
	"net"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
)

func newTestMixer(t testing.TB, cfg Config) *Mixer {
	t.Helper()
	if !cfg.BindAddr.IsValid() {
		cfg.BindAddr = loopback
	}
	if cfg.PortMin == 0 {
		cfg.PortMin, cfg.PortMax = 30000, 39999
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLoopbackThreeTones is the acceptance test over real UDP:
// three phones send different tones, each hears exactly the other two, and
// muting one removes its tone from the others' streams.
func TestLoopbackThreeTones(t *testing.T) {
	m := newTestMixer(t, Config{})
	freqs := []float64{500, 1100, 1700}
	var peers []*rtpPeer
	var legs []*Leg
	for _, f := range freqs {
		p := newRTPPeer(t)
		l, err := m.AddLeg(LegConfig{Room: "tones", Codec: CodecSpec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}, Remote: p.addr()})
		if err != nil {
			t.Fatalf("AddLeg: %v", err)
		}
		p.start(l.LocalAddr(), &testpeer.ToneGen{Freq: f, Rate: 8000, Amp: 0.25})
		peers = append(peers, p)
		legs = append(legs, l)
	}
	// Skip the first half second (jitter buffer fill, talk detection).
	for _, p := range peers {
		p.waitSamples(t, 4000)
	}
	marks := make([]int, len(peers))
	for i, p := range peers {
		marks[i] = p.received()
	}
	for _, p := range peers {
		p.waitSamples(t, marks[0]+8000)
	}
	for i, p := range peers {
		got := p.since(marks[i])
		for j, f := range freqs {
			a := testpeer.ToneAmplitude(got, f, 8000)
			if i == j && a > 0.01 {
				t.Errorf("leg %d hears its own %v Hz tone at amplitude %.3f", i, f, a)
			}
			if i != j && a < 0.1 {
				t.Errorf("leg %d hears leg %d's %v Hz tone at amplitude %.3f, want about 0.25", i, j, f, a)
			}
		}
	}

	legs[0].SetMuted(true)
	for i, p := range peers {
		marks[i] = p.received() + 800 // let in-flight packets pass (100 ms)
	}
	for i, p := range peers {
		p.waitSamples(t, marks[i]+4000)
	}
	for i, p := range peers[1:] {
		got := p.since(marks[i+1])
		if a := testpeer.ToneAmplitude(got, freqs[0], 8000); a > 0.01 {
			t.Errorf("after muting leg 0, leg %d still hears its tone at amplitude %.3f", i+1, a)
		}
		other := freqs[2-i]
		if a := testpeer.ToneAmplitude(got, other, 8000); a < 0.1 {
			t.Errorf("after muting leg 0, leg %d lost the %v Hz tone (amplitude %.3f)", i+1, other, a)
		}
	}
}

// TestRoomsAreSeparateAndCleanedUp: two rooms on the worker pool do not hear
// each other; a room disappears with its last leg and its ports are free
// again.
func TestRoomsAreSeparateAndCleanedUp(t *testing.T) {
	m := newTestMixer(t, Config{Workers: 2})
	type member struct {
		p    *rtpPeer
		l    *Leg
		freq float64
	}
	var all []member
	for i, room := range []string{"a", "a", "b", "b"} {
		p := newRTPPeer(t)
		l, err := m.AddLeg(LegConfig{Room: room, Codec: CodecSpec{Name: "pcmu"}, Remote: p.addr()})
		if err != nil {
			t.Fatal(err)
		}
		if l.Room() != room {
			t.Errorf("leg in room %q, want %q", l.Room(), room)
		}
		f := 500 + 400*float64(i)
		p.start(l.LocalAddr(), &testpeer.ToneGen{Freq: f, Rate: 8000, Amp: 0.25})
		all = append(all, member{p, l, f})
	}
	for _, x := range all {
		x.p.waitSamples(t, 4000)
	}
	marks := make([]int, len(all))
	for i, x := range all {
		marks[i] = x.p.received()
	}
	for i, x := range all {
		x.p.waitSamples(t, marks[i]+4000)
	}
	for i, x := range all {
		got := x.p.since(marks[i])
		for j, y := range all {
			a := testpeer.ToneAmplitude(got, y.freq, 8000)
			sameRoom := x.l.Room() == y.l.Room()
			if sameRoom && i != j && a < 0.1 {
				t.Errorf("leg %d does not hear leg %d of its room (amplitude %.3f)", i, j, a)
			}
			if !sameRoom && a > 0.01 {
				t.Errorf("leg %d hears leg %d of another room (amplitude %.3f)", i, j, a)
			}
		}
	}
	for _, x := range all[:2] {
		x.p.close()
		x.l.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		_, a := m.rooms["a"]
		_, b := m.rooms["b"]
		m.mu.Unlock()
		if !a && b {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after its last leg left, room a exists=%v, room b exists=%v", a, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPortsReleased: a one-pair range serves one leg at a time.
func TestPortsReleased(t *testing.T) {
	port := 0
	for p := 41000; p < 42000; p += 2 {
		if udpFree(p) && udpFree(p+1) {
			port = p
			break
		}
	}
	if port == 0 {
		t.Skip("no free port pair in 41000-42000")
	}
	m := newTestMixer(t, Config{PortMin: port, PortMax: port + 1})
	l, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMA", PayloadType: 8}})
	if err != nil {
		t.Fatal(err)
	}
	if l.LocalAddr().Port() != uint16(port) {
		t.Errorf("leg on port %d, want %d", l.LocalAddr().Port(), port)
	}
	if _, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMA", PayloadType: 8}}); !errors.Is(err, errNoPorts) {
		t.Errorf("second leg in a one-pair range: %v, want errNoPorts", err)
	}
	l.Close()
	l2, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMA", PayloadType: 8}})
	if err != nil {
		t.Fatalf("leg after the first closed: %v", err)
	}
	l2.Close()
	m.Close()
	if _, err := m.AddLeg(LegConfig{Room: "r", Codec: CodecSpec{Name: "PCMA"}}); !errors.Is(err, ErrClosed) {
		t.Errorf("AddLeg after Close: %v, want ErrClosed", err)
	}
	if m.Ready() {
		t.Error("closed mixer reports ready")
	}
}

func udpFree(port int) bool {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{PortMin: 5000, PortMax: 4000}); err == nil {
		t.Error("New with an inverted port range succeeded")
	}
	m := newTestMixer(t, Config{})
	bad := []LegConfig{
		{Room: "", Codec: CodecSpec{Name: "PCMU"}},
		{Room: "r", Codec: CodecSpec{Name: "GSM"}},
		{Room: "r", Codec: CodecSpec{Name: "PCMU", PayloadType: 200}},
		{Room: "r", Codec: CodecSpec{Name: "PCMU", PayloadType: 0}, TelephoneEvent: 0x80},
		{Room: "r", Codec: CodecSpec{Name: "opus", PayloadType: 111, ClockRate: 8000}},
		{Room: "r", Codec: CodecSpec{Name: "opus", PayloadType: 101}, TelephoneEvent: 101},
	}
	for _, cfg := range bad {
		if l, err := m.AddLeg(cfg); err == nil {
			t.Errorf("AddLeg(%+v) succeeded", cfg)
			l.Close()
		}
	}
	want := []string{"opus", "G722", "PCMU", "PCMA"}
	for i, c := range SupportedCodecs() {
		if c.Name != want[i] {
			t.Errorf("SupportedCodecs()[%d] = %s, want %s", i, c.Name, want[i])
		}
	}
}
