package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"

	"cusax.dev/bridge/mixer/codec"
)

// frame is the RTP packetisation both servers use: 20 ms.
const frame = 20 * time.Millisecond

// legsPerSocket is how many legs at most share one generator socket, so
// that the generator sends and receives a batch with one sendmmsg/recvmmsg
// and fits beside the server on a small machine.
const legsPerSocket = 64

// groupCount is how many generator sockets n legs in rooms of roomSize use.
// Leg i sends from socket i mod the count, so the legs of a room come from
// different addresses, as separate phones' do (up to 64 a room): the bridge
// tells the legs sharing one of its ports apart by their address, and
// never puts two legs from one address on one port. Each server port a
// socket hears from is then one leg's, which is how the socket tells its
// legs' mixes apart.
func groupCount(n, roomSize int) int {
	g := (n + legsPerSocket - 1) / legsPerSocket
	return max(g, min(roomSize, legsPerSocket, n))
}

// media is the codec every leg of a run uses.
type media struct {
	name  string // codec.PCMU or codec.Opus
	pt    uint8  // 0 (RFC 3551) or 111 (dynamic, as browsers and Janus use)
	ticks uint32 // RTP timestamp step per frame
	rate  int    // RTP clock rate
}

// mixRate is the rate the bridge mixes this codec at, given to Janus's room
// so both mix alike: 8 kHz for PCMU (the bridge upsamples, but the audio is
// narrowband), 16 kHz for Opus (the bridge's internal rate).
func (m media) mixRate() int {
	if m.name == codec.PCMU {
		return 8000
	}
	return codec.SampleRate
}

var (
	pcmu = media{name: codec.PCMU, pt: 0, ticks: 160, rate: 8000}
	opus = media{name: codec.Opus, pt: 111, ticks: 960, rate: 48000}
)

// opusCheckEvery is how many Opus legs share one that decodes its mix to
// check it: decoding every leg would cost the generator more than the
// server. PCMU legs all check (a table lookup per byte).
const opusCheckEvery = 8

// leg is one simulated phone's media.
type leg struct {
	talker bool
	ssrc   uint32
	seq    uint16
	ts     uint32
	server netip.AddrPort // where its RTP goes (the server's port for it)
	frames *[][]byte      // payloads it cycles through
	check  codec.Decoder  // decodes its mix to check it, or nil
	stats  legStats
}

// legStats is what a leg saw of its mix during the measuring window; only its
// group's receiver writes it.
type legStats struct {
	got        int64
	firstSeq   uint32 // extended
	lastSeq    uint32
	haveSeq    bool
	lastArrive int64 // ns, kernel receive time
	loud       int64 // packets whose level says a talker is audible
	checked    int64 // packets whose level was looked at
}

// extend turns a 16-bit sequence number into a 32-bit one near the last.
func (s *legStats) extend(seq uint16) uint32 {
	if !s.haveSeq {
		return uint32(seq)
	}
	cand := s.lastSeq&^0xffff | uint32(seq)
	switch {
	case int64(cand)-int64(s.lastSeq) > 0x8000:
		cand -= 0x10000
	case int64(s.lastSeq)-int64(cand) > 0x8000:
		cand += 0x10000
	}
	return cand
}

// group is legsPerSocket legs sharing one generator socket.
type group struct {
	media  media
	conn   *net.UDPConn
	pc     *ipv4.PacketConn
	local  netip.AddrPort
	legs   []*leg
	byPort map[uint16]*leg // the server's source port -> leg

	measuring atomic.Bool
	mu        sync.Mutex // guards hist and stray against the reporter
	hist      histogram
	stray     int64 // packets from no known server port
}

func newGroup(m media) (*group, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("generator socket: %w", err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	raw, err := c.SyscallConn()
	if err == nil {
		err2 := raw.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		})
		if err2 != nil {
			err = err2
		}
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("kernel receive timestamps (SO_TIMESTAMPNS): %w", err)
	}
	return &group{media: m, conn: c, pc: ipv4.NewPacketConn(c), local: c.LocalAddr().(*net.UDPAddr).AddrPort(), byPort: map[uint16]*leg{}}, nil
}

func (g *group) add(l *leg) {
	g.legs = append(g.legs, l)
	g.byPort[l.server.Port()] = l
}

// send paces every leg of the group at 20 ms until stop, one sendmmsg per
// tick.
func (g *group) send(stop <-chan struct{}) {
	msgs := make([]ipv4.Message, len(g.legs))
	bufs := make([][12 + codec.MaxPayload]byte, len(g.legs))
	addrs := make([]*net.UDPAddr, len(g.legs))
	for i, l := range g.legs {
		addrs[i] = net.UDPAddrFromAddrPort(l.server)
	}
	next := time.Now()
	for k := 0; ; k++ {
		for i, l := range g.legs {
			p := (*l.frames)[k%len(*l.frames)]
			b := bufs[i][:12+len(p)]
			b[0], b[1] = 0x80, g.media.pt
			binary.BigEndian.PutUint16(b[2:], l.seq)
			binary.BigEndian.PutUint32(b[4:], l.ts)
			binary.BigEndian.PutUint32(b[8:], l.ssrc)
			copy(b[12:], p)
			l.seq++
			l.ts += g.media.ticks
			msgs[i] = ipv4.Message{Buffers: [][]byte{b}, Addr: addrs[i]}
		}
		for sent := 0; sent < len(msgs); {
			n, err := g.pc.WriteBatch(msgs[sent:], 0)
			if err != nil {
				break // the server went away; the report shows the loss
			}
			sent += n
		}
		next = next.Add(frame)
		if d := time.Until(next); d > 0 {
			select {
			case <-stop:
				return
			case <-time.After(d):
			}
		} else {
			select {
			case <-stop:
				return
			default:
			}
			if -d > 10*frame {
				next = time.Now() // far behind: do not burst to catch up
			}
		}
	}
}

// loudLevel is the mean square (16-bit PCM) above which a received frame
// carries a talker: the talkers send about -16 dBFS, comfort noise -60 dBFS.
const loudLevel = 300 * 300

// receive reads the group's mixes until the socket is closed, keeping
// per-leg statistics while measuring is set.
func (g *group) receive() {
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 1500)}
		msgs[i].OOB = make([]byte, 64)
	}
	pcm := make([]int16, codec.MaxDecodeSamples)
	for {
		n, err := g.pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		if !g.measuring.Load() {
			continue
		}
		g.mu.Lock()
		for _, m := range msgs[:n] {
			from, _ := m.Addr.(*net.UDPAddr)
			if from == nil {
				continue
			}
			l := g.byPort[uint16(from.Port)]
			pkt := m.Buffers[0][:m.N]
			seq, payload, ok := rtpSeqPayload(pkt)
			if l == nil || !ok {
				g.stray++
				continue
			}
			at := kernelTime(m.OOB[:m.NN])
			st := &l.stats
			es := st.extend(seq)
			if st.haveSeq && es == st.lastSeq+1 && st.lastArrive != 0 && at != 0 {
				g.hist.add(math.Abs(float64(at-st.lastArrive) - float64(frame)))
			}
			if !st.haveSeq {
				st.firstSeq, st.haveSeq = es, true
			}
			if es > st.lastSeq || st.got == 0 {
				st.lastSeq = es
			}
			st.lastArrive = at
			st.got++
			if l.check != nil {
				st.checked++
				if lvl := level(l.check, payload, pcm); lvl > loudLevel {
					st.loud++
				}
			}
		}
		g.mu.Unlock()
	}
}

// level is the mean square of a payload's audio: G.711's from its table,
// anything else decoded.
func level(dec codec.Decoder, payload []byte, pcm []int16) int64 {
	if lv, ok := dec.(interface{ Level([]byte) (int64, int) }); ok {
		l, _ := lv.Level(payload)
		return l
	}
	n, err := dec.Decode(payload, pcm)
	if err != nil || n == 0 {
		return 0
	}
	var sum int64
	for _, s := range pcm[:n] {
		sum += int64(s) * int64(s)
	}
	return sum / int64(n)
}

// rtpSeqPayload reads an RTP packet's sequence number and payload (RFC 3550
// section 5.1), skipping CSRCs and a header extension; ok is false for
// anything that is not RTP version 2 with a payload.
func rtpSeqPayload(b []byte) (seq uint16, payload []byte, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, nil, false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return 0, nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		if end <= off {
			return 0, nil, false
		}
		end -= int(b[end-1])
	}
	if off >= end {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b[2:]), b[off:end], true
}

// kernelTime is the SO_TIMESTAMPNS receive time in a message's control data,
// in ns, or 0.
func kernelTime(oob []byte) int64 {
	cms, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, cm := range cms {
		if cm.Header.Level == syscall.SOL_SOCKET && cm.Header.Type == syscall.SCM_TIMESTAMPNS && len(cm.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&cm.Data[0]))
			return ts.Nano()
		}
	}
	return 0
}

// startMeasuring clears the statistics and starts counting.
func (g *group) startMeasuring() {
	g.mu.Lock()
	for _, l := range g.legs {
		l.stats = legStats{}
	}
	g.hist = histogram{}
	g.stray = 0
	g.mu.Unlock()
	g.measuring.Store(true)
}

func (g *group) stopMeasuring() { g.measuring.Store(false) }

// histogram counts interval deviations in 10 µs buckets up to 100 ms.
type histogram struct {
	n       int64
	buckets [10001]int64
}

func (h *histogram) add(devNs float64) {
	i := int(devNs / 10e3)
	if i >= len(h.buckets) {
		i = len(h.buckets) - 1
	}
	h.buckets[i]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	h.n += o.n
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
}

// quantile returns the q-quantile in ms (bucket upper bound).
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	want := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.buckets {
		seen += c
		if seen >= want {
			return float64(i+1) * 0.01
		}
	}
	return math.Inf(1)
}

// audio builds the payloads, in codec m, legs cycle through: one second of a
// speech-like signal for talkers (a 300 Hz tone with a 4 Hz syllable
// envelope, at most -16 dBFS) and of comfort-level noise for the rest
// (-60 dBFS). Each signal has its own encoder, as each phone has: an Opus
// encoder's state (its voice activity detector above all) follows the one
// signal it codes.
func audio(m media) (talk, noise [][]byte, err error) {
	talkEnc, err := codec.NewEncoder(m.name)
	if err != nil {
		return nil, nil, err
	}
	noiseEnc, err := codec.NewEncoder(m.name)
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pcm := make([]int16, codec.FrameSamples)
	for f := range 50 {
		for i := range pcm {
			t := float64(f*codec.FrameSamples+i) / codec.SampleRate
			env := 0.6 + 0.4*math.Sin(2*math.Pi*4*t)
			pcm[i] = int16(5200 * env * math.Sin(2*math.Pi*300*t))
		}
		talk = append(talk, encode(talkEnc, pcm))
		for i := range pcm {
			pcm[i] = int16(rng.NormFloat64() * 33)
		}
		noise = append(noise, encode(noiseEnc, pcm))
	}
	return talk, noise, nil
}

func encode(enc codec.Encoder, pcm []int16) []byte {
	out := make([]byte, codec.MaxPayload)
	n, err := enc.Encode(pcm, out)
	if err != nil {
		panic(err) // PCMU encodes any frame
	}
	return out[:n]
}
