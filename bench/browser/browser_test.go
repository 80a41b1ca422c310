// Package browser measures browser join under load: the CPU one browser
// participant costs the bridge per 20 ms frame in a room of browsers and
// phones, and how long a browser waits from its POST to the first mixed
// packet. The bridge side (web/join and the mixer) runs in a child process,
// so its CPU (from /proc) is apart from the load clients', which are real
// WebRTC stacks (pion: ICE, DTLS-SRTP, Opus) on loopback.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/browser
//
// With CUSAX_BENCH_BROWSER_PROFILE=FILE the bridge side writes a CPU
// profile there (go tool pprof FILE).
package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"

	"cusax.dev/bridge/internal/procstat"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer"
	"cusax.dev/bridge/mixer/codec"
	"cusax.dev/bridge/web/join"
)

const serverEnv = "CUSAX_BENCH_BROWSER_SERVER"

// TestMain runs the bridge side when the benchmark starts this binary as
// its child.
func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// admitAll is the room's side for the benchmark: everyone is admitted, as
// sync admits a chat user with a personal link.
type admitAll struct{}

func (admitAll) Admit(context.Context, join.Join) join.Decision {
	return join.Decision{Verdict: join.Admitted}
}
func (admitAll) LegEvent(join.Event)                 {}
func (admitAll) Roster(string) []join.Participant    { return nil }
func (admitAll) Home(context.Context, string) string { return "" }

// serverInfo is what the child tells the benchmark.
type serverInfo struct {
	Web    string   `json:"web"`
	Phones []string `json:"phones"` // RTP addresses of the phone legs
}

// profileEnv names a file the bridge side writes its CPU profile to.
const profileEnv = "CUSAX_BENCH_BROWSER_PROFILE"

func serve() error {
	phones, _ := strconv.Atoi(os.Getenv(serverEnv))
	if path := os.Getenv(profileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	lo := netip.MustParseAddr("127.0.0.1")
	m, err := mixer.New(mixer.Config{BindAddr: lo, PortMin: 49000, PortMax: 49399})
	if err != nil {
		return err
	}
	defer m.Close()
	srv, err := join.New(join.Config{Listen: "127.0.0.1:0", RTPAddress: lo, PortMin: 49000, PortMax: 49399, Media: m, Gate: admitAll{}})
	if err != nil {
		return err
	}
	info := serverInfo{Web: srv.Addr().String()}
	for range phones {
		l, err := m.AddLeg(mixer.LegConfig{Room: "bench", Codec: mixer.CodecSpec{Name: "PCMU"}})
		if err != nil {
			return err
		}
		info.Phones = append(info.Phones, l.LocalAddr().String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // the benchmark closes stdin to stop us
		_, _ = bufio.NewReader(os.Stdin).ReadString(0)
		cancel()
	}()
	b, _ := json.Marshal(info)
	fmt.Println(string(b))
	return srv.Serve(ctx)
}

// client is one browser: a pion PeerConnection sending Opus and counting
// what it receives.
type client struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	received atomic.Int64
	first    chan struct{}
	once     sync.Once
	seq      uint16
	ts       uint32
	enc      codec.Encoder
	tone     *testpeer.ToneGen
}

func newClient(b *testing.B, web string, talker bool, freq float64) (*client, time.Duration) {
	b.Helper()
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		b.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		b.Fatal(err)
	}
	enc, _ := codec.NewEncoder(codec.Opus)
	c := &client{pc: pc, track: track, first: make(chan struct{}), enc: enc}
	amp := 0.002 // comfort-level noise floor stand-in for the quiet ones
	if talker {
		amp = 0.2
	}
	c.tone = &testpeer.ToneGen{Freq: freq, Rate: codec.SampleRate, Amp: amp}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
			c.received.Add(1)
			c.once.Do(func() { close(c.first) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-gathered
	start := time.Now()
	res, err := httpPost("http://"+web+"/whip/bench?nick=b", pc.LocalDescription().SDP)
	if err != nil {
		b.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res}); err != nil {
		b.Fatal(err)
	}
	// The mixer sends every leg its mix each tick from the moment DTLS is
	// up, so the first packet marks a working call.
	select {
	case <-c.first:
	case <-time.After(20 * time.Second):
		b.Fatalf("no mixed packet 20 s after the POST (connection %s)", pc.ConnectionState())
	}
	return c, time.Since(start)
}

// send writes the client's next 20 ms of audio.
func (c *client) send(pcm []int16, pay []byte) {
	c.tone.Fill(pcm)
	n, err := c.enc.Encode(pcm, pay)
	if err != nil {
		return
	}
	_ = c.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: c.seq, Timestamp: c.ts, SSRC: 1}, Payload: pay[:n]})
	c.seq++
	c.ts += 960
}

func httpPost(url, sdp string) (string, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(sdp))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST: %d %s", res.StatusCode, body)
	}
	return string(body), nil
}

// phone is a plain RTP phone on a mixer leg of the room.
type phone struct {
	conn     *net.UDPConn
	to       *net.UDPAddr
	received atomic.Int64
	seq      uint16
	ts       uint32
	buf      [172]byte
}

func newPhone(b *testing.B, addr string, freq float64) *phone {
	b.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	p := &phone{conn: c, to: to}
	// A steady tone, encoded once: phones cost the benchmark nothing to
	// produce.
	enc, _ := codec.NewEncoder(codec.PCMU)
	pcm := testpeer.Tone(freq, codec.SampleRate, codec.FrameSamples, 0.2)
	if _, err := enc.Encode(pcm, p.buf[12:]); err != nil {
		b.Fatal(err)
	}
	go func() {
		rb := make([]byte, 2048)
		for {
			if _, err := c.Read(rb); err != nil {
				return
			}
			p.received.Add(1)
		}
	}()
	return p
}

func (p *phone) send() {
	h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 9}
	_, _ = h.MarshalTo(p.buf[:12])
	_, _ = p.conn.WriteToUDP(p.buf[:], p.to)
	p.seq++
	p.ts += 160
}

// BenchmarkBrowserRoom: one room of 20 browsers (3 talking, the rest near
// silence) and 4 phones, 10 s of steady state. It reports the bridge
// process's CPU per participant-frame and share of a core, the time from a
// browser's POST to its first mixed packet (p50, max over the joins), and
// the share of mixed packets that did not arrive.
func BenchmarkBrowserRoom(b *testing.B) {
	const browsers, phones = 20, 4
	const window = 10 * time.Second
	testpeer.Integration(b)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"="+strconv.Itoa(phones))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("the bridge side did not start: %v", err)
	}
	var info serverInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		b.Fatalf("the bridge side said %q: %v", line, err)
	}

	var ps []*phone
	for i, a := range info.Phones {
		ps = append(ps, newPhone(b, a, 300+float64(i)*50))
	}
	var cs []*client
	var setups []time.Duration
	stop := make(chan struct{})
	var mu sync.Mutex
	paced := make(chan struct{})
	go func() { // 20 ms pacing for every participant, as phones and browsers send
		defer close(paced)
		pcm := make([]int16, codec.FrameSamples)
		pay := make([]byte, codec.MaxPayload)
		t := time.NewTicker(mixer.Frame)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for _, p := range ps {
				p.send()
			}
			mu.Lock()
			for _, c := range cs {
				c.send(pcm, pay)
			}
			mu.Unlock()
		}
	}()
	for i := range browsers {
		c, d := newClient(b, info.Web, i < 3, 500+float64(i)*40)
		mu.Lock()
		cs = append(cs, c)
		mu.Unlock()
		setups = append(setups, d)
	}
	time.Sleep(2 * time.Second)

	b.ResetTimer()
	cpu0, err := procstat.CPU(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	var recv0 int64
	for _, c := range cs {
		recv0 += c.received.Load()
	}
	for _, p := range ps {
		recv0 += p.received.Load()
	}
	start := time.Now()
	time.Sleep(window)
	elapsed := time.Since(start)
	cpu1, _ := procstat.CPU(cmd.Process.Pid)
	var recv1 int64
	for _, c := range cs {
		recv1 += c.received.Load()
	}
	for _, p := range ps {
		recv1 += p.received.Load()
	}
	b.StopTimer()
	close(stop)
	<-paced
	for _, c := range cs {
		c.pc.Close()
	}
	for _, p := range ps {
		p.conn.Close()
	}

	n := browsers + phones
	frames := float64(n) * elapsed.Seconds() / mixer.Frame.Seconds()
	cpu := (cpu1 - cpu0).Seconds()
	sort.Slice(setups, func(i, j int) bool { return setups[i] < setups[j] })
	b.ReportMetric(cpu*1e6/frames, "µs-cpu/participant-frame")
	b.ReportMetric(100*cpu/elapsed.Seconds(), "%core")
	b.ReportMetric(float64(setups[len(setups)/2].Microseconds())/1000, "ms-post-to-first-packet-p50")
	b.ReportMetric(float64(setups[len(setups)-1].Microseconds())/1000, "ms-post-to-first-packet-max")
	b.ReportMetric(100*(1-float64(recv1-recv0)/frames), "%missing")
}
