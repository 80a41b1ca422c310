package mixer

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"

	"cusax.dev/bridge/internal/testpeer"
)

// rtpPeer is a minimal PCMU phone for tests: it sends a tone (or silence)
// every 20 ms and decodes what it receives.
type rtpPeer struct {
	t    testing.TB
	conn *net.UDPConn
	pt   uint8

	mu      sync.Mutex
	dst     netip.AddrPort
	tone    *testpeer.ToneGen
	got     []int16 // decoded 8 kHz audio received
	packets int
	ssrcs   map[uint32]bool

	seq  uint16
	ts   uint32
	ssrc uint32
	// protect and unprotect, when set, turn the peer's RTP into SRTP;
	// unreadable arrivals are counted in badSRTP.
	protect   func([]byte) []byte
	unprotect func([]byte) ([]byte, error)
	badSRTP   int
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newRTPPeer(t testing.TB) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("peer socket: %v", err)
	}
	p := &rtpPeer{t: t, conn: c, ssrc: 0x1234 + uint32(c.LocalAddr().(*net.UDPAddr).Port), ssrcs: map[uint32]bool{}, stop: make(chan struct{})}
	t.Cleanup(p.close)
	return p
}

func (p *rtpPeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// start runs the sender and receiver goroutines.
func (p *rtpPeer) start(dst netip.AddrPort, tone *testpeer.ToneGen) {
	p.mu.Lock()
	p.dst, p.tone = dst, tone
	p.mu.Unlock()
	p.wg.Add(2)
	go p.sendLoop()
	go p.recvLoop()
}

func (p *rtpPeer) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.conn.Close()
	p.wg.Wait()
}

// packet builds the next PCMU packet of the peer's tone.
func (p *rtpPeer) packet() []byte {
	p.mu.Lock()
	pcm := make([]int16, 160)
	if p.tone != nil {
		p.tone.Fill(pcm)
	}
	p.mu.Unlock()
	payload := make([]byte, 160)
	for i, s := range pcm {
		payload[i] = g711.EncodeUlawFrame(s)
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: p.pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: payload}
	p.seq++
	p.ts += 160
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Errorf("marshal: %v", err)
	}
	return b
}

func (p *rtpPeer) sendLoop() {
	defer p.wg.Done()
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tk.C:
		}
		b := p.packet()
		p.mu.Lock()
		dst := p.dst
		if p.protect != nil {
			b = p.protect(b)
		}
		p.mu.Unlock()
		if _, err := p.conn.WriteToUDPAddrPort(b, dst); err != nil && !errors.Is(err, net.ErrClosed) {
			p.t.Errorf("peer send: %v", err)
		}
	}
}

func (p *rtpPeer) recvLoop() {
	defer p.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if p.unprotect != nil {
			if b, err = p.unprotect(b); err != nil {
				p.mu.Lock()
				p.badSRTP++
				p.mu.Unlock()
				continue
			}
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(b); err != nil {
			p.t.Errorf("peer got a bad RTP packet: %v", err)
			continue
		}
		p.mu.Lock()
		p.packets++
		p.ssrcs[pkt.SSRC] = true
		for _, b := range pkt.Payload {
			p.got = append(p.got, g711.DecodeUlawFrame(b))
		}
		p.mu.Unlock()
	}
}

// received returns how many samples have arrived so far.
func (p *rtpPeer) received() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

// since returns a copy of the samples received from index from on.
func (p *rtpPeer) since(from int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.got[from:]...)
}

// waitSamples waits until the peer holds at least n samples.
func (p *rtpPeer) waitSamples(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.received() < n {
		if time.Now().After(deadline) {
			t.Fatalf("peer %s received %d samples in 20 s, want %d", p.addr(), p.received(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newRTPPeer6 is newRTPPeer on ::1, or nil without IPv6 loopback.
func newRTPPeer6(t testing.TB) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return nil
	}
	p := &rtpPeer{t: t, conn: c, ssrc: 0x6666, ssrcs: map[uint32]bool{}, stop: make(chan struct{})}
	t.Cleanup(p.close)
	return p
}
