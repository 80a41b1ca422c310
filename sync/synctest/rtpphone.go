package synctest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
)

// RTPPhone is a phone whose media is Go code: SIP through focustest's raw
// phone, PCMU over a loopback UDP socket. It sends a steady tone (or
// silence) and measures, frame by frame, how loud one frequency is in what
// the mixer sends back, with the time each frame arrived: what latency
// benchmarks need and no recording can give.
type RTPPhone struct {
	Call  *focustest.Call
	conn  *net.UDPConn
	watch float64

	mu     gosync.Mutex
	frames []Frame
}

// Frame is one received 20 ms frame: when it arrived and the amplitude of
// the watched frequency in it (0..1 of full scale).
type Frame struct {
	At   time.Time
	Tone float64
}

var (
	sdpPort = regexp.MustCompile(`(?m)^m=audio (\d+) `)
	sdpAddr = regexp.MustCompile(`(?m)^c=IN IP4 ([0-9.]+)`)
)

// DialRTP calls room at the focus, sends a sine at sendHz (0 = silence)
// and watches watchHz in what it hears. t.Cleanup hangs up.
func DialRTP(t testing.TB, focusAddr netip.AddrPort, room string, sendHz, watchHz float64) *RTPPhone {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	p := &RTPPhone{conn: conn, watch: watchHz}
	raw := focustest.NewRawPhone(t, focusAddr)
	p.Call = raw.Call(room)
	res := p.Call.Invite("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE\n", focustest.Offer(port, "0"))
	if res.StatusCode != 200 {
		conn.Close()
		t.Fatalf("INVITE to %s answered %d", room, res.StatusCode)
	}
	body := string(res.Body())
	pm, am := sdpPort.FindStringSubmatch(body), sdpAddr.FindStringSubmatch(body)
	if pm == nil || am == nil {
		conn.Close()
		t.Fatalf("no media address in the answer:\n%s", body)
	}
	rport, _ := strconv.Atoi(pm[1])
	remote := &net.UDPAddr{IP: net.ParseIP(am[1]), Port: rport}
	stop := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.send(remote, sendHz, stop) }()
	go func() { defer wg.Done(); p.receive() }()
	t.Cleanup(func() {
		close(stop)
		p.Call.Bye()
		conn.Close()
		wg.Wait()
	})
	return p
}

func (p *RTPPhone) send(to *net.UDPAddr, hz float64, stop chan struct{}) {
	gen := testpeer.Tone(hz, 8000, 8000, 0.3) // one second, looped
	if hz == 0 {
		gen = make([]int16, 8000)
	}
	pcm := make([]byte, 320)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: uint32(time.Now().UnixNano())}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		off := (n * 160) % len(gen)
		for i := 0; i < 160; i++ {
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(gen[(off+i)%len(gen)]))
		}
		pkt.SequenceNumber = uint16(n)
		pkt.Timestamp = uint32(n * 160)
		pkt.Payload = g711.EncodeUlaw(pcm)
		b, err := pkt.Marshal()
		if err != nil {
			return
		}
		if _, err := p.conn.WriteToUDP(b, to); err != nil {
			return
		}
	}
}

func (p *RTPPhone) receive() {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != 0 || len(pkt.Payload) == 0 {
			continue
		}
		lin := g711.DecodeUlaw(pkt.Payload)
		s := make([]int16, len(lin)/2)
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(lin[2*i:]))
		}
		f := Frame{At: at, Tone: testpeer.ToneAmplitude(s, p.watch, 8000)}
		p.mu.Lock()
		p.frames = append(p.frames, f)
		p.mu.Unlock()
	}
}

// FirstAfter returns the first frame received after t that matches, and
// whether there is one yet.
func (p *RTPPhone) FirstAfter(t time.Time, match func(Frame) bool) (Frame, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frames {
		if f.At.After(t) && match(f) {
			return f, true
		}
	}
	return Frame{}, false
}

// Level is the median watched-tone amplitude of the last n frames.
func (p *RTPPhone) Level(n int) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.frames) < n {
		return 0
	}
	v := make([]float64, 0, n)
	for _, f := range p.frames[len(p.frames)-n:] {
		v = append(v, f.Tone)
	}
	slices.Sort(v)
	return v[len(v)/2]
}
