package mixer

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
)

// harness drives one room tick by tick, without the worker's clock: the
// test feeds each leg's packet straight into its receive path, runs a tick
// and reads what each leg was sent from real loopback sockets. It makes
// "from the next tick" checkable exactly.
type harness struct {
	t     testing.TB
	m     *Mixer
	r     *room
	codec string
	legs  []*Leg
	peers []*net.UDPConn
	tones []*testpeer.ToneGen
	encs  []codec.Encoder
	decs  []codec.Decoder
	seq   []uint16
	ts    []uint32
	pcm   []int16
	pay   []byte
	rbuf  []byte
}

func newHarness(t testing.TB, codecName string, n int, cfg Config) *harness {
	t.Helper()
	cfg.Workers = 1
	m := newTestMixer(t, cfg)
	r := newRoom(m, "harness", nil)
	h := &harness{t: t, m: m, r: r, codec: codecName, pcm: make([]int16, codec.FrameSamples), pay: make([]byte, codec.MaxPayload), rbuf: make([]byte, 2048)}
	for range n {
		h.addLeg()
	}
	return h
}

func (h *harness) addLeg() *Leg {
	h.t.Helper()
	info, err := codec.Lookup(h.codec)
	if err != nil {
		h.t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { pc.Close() })
	cfg := LegConfig{Room: h.r.name, Codec: CodecSpec{Name: h.codec, PayloadType: 96}, TelephoneEvent: 101, Remote: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	l, err := newLeg(h.m, h.m.nextID.Add(1), cfg, info)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { l.Close() })
	l.room = h.r
	h.m.mu.Lock()
	if l.sharesPort() {
		if err := h.m.attachShared(h.r, l); err != nil {
			h.m.mu.Unlock()
			h.t.Fatal(err)
		}
	}
	h.m.legs[l.id] = l
	h.r.pending = append(h.r.pending, l)
	h.m.mu.Unlock()
	h.r.changed.Store(true)
	enc, err := codec.NewEncoder(h.codec)
	if err != nil {
		h.t.Fatal(err)
	}
	dec, err := codec.NewDecoder(h.codec)
	if err != nil {
		h.t.Fatal(err)
	}
	h.legs = append(h.legs, l)
	h.peers = append(h.peers, pc)
	h.tones = append(h.tones, nil)
	h.encs = append(h.encs, enc)
	h.decs = append(h.decs, dec)
	h.seq = append(h.seq, uint16(len(h.legs)*1000))
	h.ts = append(h.ts, 0)
	return l
}

// packet encodes leg i's next 20 ms of tone (or silence) as RTP.
func (h *harness) packet(i int) []byte {
	clear(h.pcm)
	if h.tones[i] != nil {
		h.tones[i].Fill(h.pcm)
	}
	n, err := h.encs[i].Encode(h.pcm, h.pay)
	if err != nil {
		h.t.Fatalf("encode: %v", err)
	}
	info, _ := codec.Lookup(h.codec)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: h.seq[i], Timestamp: h.ts[i], SSRC: 0xabc0 + uint32(i)}, Payload: h.pay[:n]}
	h.seq[i]++
	h.ts[i] += info.FrameTicks
	b, err := pkt.Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// step feeds every leg one packet, runs one tick and returns the 16 kHz
// audio each leg was sent (nil where nothing came).
func (h *harness) step() [][]int16 {
	h.t.Helper()
	for i, l := range h.legs {
		if l.closed.Load() {
			continue
		}
		l.handleRTP(h.packet(i), h.peers[i].LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return h.tick()
}

// tick runs one tick without feeding anything.
func (h *harness) tick() [][]int16 {
	h.t.Helper()
	h.r.tick(time.Now())
	out := make([][]int16, len(h.legs))
	for i, pc := range h.peers {
		if h.legs[i].closed.Load() {
			continue
		}
		wait := 2 * time.Second
		if h.legs[i].held.Load() {
			wait = 20 * time.Millisecond
		}
		pc.SetReadDeadline(time.Now().Add(wait))
		n, err := pc.Read(h.rbuf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				h.t.Fatalf("peer %d read: %v", i, err)
			}
			continue
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(h.rbuf[:n]); err != nil {
			h.t.Fatalf("peer %d got bad RTP: %v", i, err)
		}
		pcm := make([]int16, codec.MaxDecodeSamples)
		k, err := h.decs[i].Decode(pkt.Payload, pcm)
		if err != nil {
			h.t.Fatalf("peer %d decode: %v", i, err)
		}
		out[i] = pcm[:k]
	}
	return out
}

// run steps n ticks and returns each leg's concatenated audio.
func (h *harness) run(n int) [][]int16 { return h.runWith(n, h.step) }

// runWith is run with another step (say, over the real sockets).
func (h *harness) runWith(n int, step func() [][]int16) [][]int16 {
	all := make([][]int16, len(h.legs))
	for range n {
		for i, f := range step() {
			all[i] = append(all[i], f...)
		}
	}
	return all
}
