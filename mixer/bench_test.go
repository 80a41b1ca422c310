package mixer

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/codec"
)

// benchTalkers is how many participants talk at once in every benchmark
// room; the others send silence, as phones without silence suppression do.
const benchTalkers = 3

// benchWarmup is how many ticks run before timing starts (4 s of audio).
const benchWarmup = 200

// benchRoom is a harness room plus pre-encoded input: a second of tone per
// talker and one silent frame for everyone else.
type benchRoom struct {
	*harness
	frames [][][]byte // per leg: payloads to cycle through
	pkts   [][]byte   // per leg: the RTP packet buffer rewritten each tick
	srcs   []netip.AddrPort
	n      int
}

func newBenchRoom(b testing.TB, name string, n int, noIO bool) *benchRoom {
	b.Helper()
	return newBenchRoomWith(b, name, n, noIO, Config{})
}

// newBenchRoomWith is newBenchRoom with a mixer configuration of its own
// (say, a port per leg).
func newBenchRoomWith(b testing.TB, name string, n int, noIO bool, cfg Config) *benchRoom {
	b.Helper()
	h := newHarness(b, name, n, cfg)
	h.m.noIO = noIO
	br := &benchRoom{harness: h, n: n}
	silence := make([]int16, codec.FrameSamples)
	for i := range n {
		enc, err := codec.NewEncoder(name)
		if err != nil {
			b.Fatal(err)
		}
		var frames [][]byte
		gen := testpeer.ToneGen{Freq: 400 + 300*float64(i), Rate: codec.SampleRate, Amp: 0.2}
		pcm := make([]int16, codec.FrameSamples)
		for range 50 {
			in := silence
			if i < benchTalkers {
				gen.Fill(pcm)
				in = pcm
			}
			p := make([]byte, codec.MaxPayload)
			k, err := enc.Encode(in, p)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, p[:k])
		}
		br.frames = append(br.frames, frames)
		pkt := make([]byte, 12+codec.MaxPayload)
		pkt[0], pkt[1] = 0x80, 96
		binary.BigEndian.PutUint32(pkt[8:], 0x5000+uint32(i))
		br.pkts = append(br.pkts, pkt)
		br.srcs = append(br.srcs, h.peers[i].LocalAddr().(*net.UDPAddr).AddrPort())
	}
	// Warm up through the path the benchmark takes: fill jitter buffers,
	// settle talk detection, latch, and let the sockets reach steady state.
	deliver := func(i int, pkt []byte) { h.legs[i].handleRTP(pkt, br.srcs[i]) }
	if !noIO {
		deliver = func(i int, pkt []byte) { h.peers[i].WriteToUDPAddrPort(pkt, h.legs[i].local) }
	}
	for k := range benchWarmup {
		br.feed(k, deliver)
		h.r.tick(time.Now())
		if !noIO {
			br.drainPeers()
		}
	}
	return br
}

// feed builds tick k's packet for every leg and hands it to deliver.
func (br *benchRoom) feed(k int, deliver func(i int, pkt []byte)) {
	info := br.legs[0].media.info
	for i := range br.n {
		payload := br.frames[i][k%len(br.frames[i])]
		pkt := br.pkts[i]
		binary.BigEndian.PutUint16(pkt[2:], uint16(k))
		binary.BigEndian.PutUint32(pkt[4:], uint32(k)*info.FrameTicks)
		copy(pkt[12:], payload)
		deliver(i, pkt[:12+len(payload)])
	}
}

// drainPeers empties the test phones' sockets without allocating.
func (br *benchRoom) drainPeers() {
	var sa syscall.RawSockaddrAny
	for _, pc := range br.peers {
		rc, _ := pc.SyscallConn()
		rc.Read(func(fd uintptr) bool {
			for {
				if _, _, err := recvFrom(fd, br.rbuf, &sa); err != nil {
					return true
				}
			}
		})
	}
}

func reportPerParticipant(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/participant-frame")
}

// reportServerPerParticipant reports the server's share of each op (the
// time measured around the server's work alone) per participant, beside
// the usual per-participant figure of the whole op.
func reportServerPerParticipant(b *testing.B, server time.Duration, n int) {
	reportPerParticipant(b, n)
	b.ReportMetric(float64(server.Nanoseconds())/float64(b.N)/float64(n), "server-ns/participant-frame")
}

// BenchmarkMix measures the CPU of one room tick without socket I/O:
// parsing each participant's packet, jitter buffer, decode, talker
// selection, N-1 mixing, encoding and building the outgoing packets. One op
// is one 20 ms frame for the whole room.
func BenchmarkMix(b *testing.B) {
	cases := []struct {
		codec string
		sizes []int
	}{
		{codec.PCMU, []int{10, 100, 1000}},
		{codec.G722, []int{10, 100}},
		{codec.Opus, []int{10, 100}},
	}
	for _, c := range cases {
		for _, n := range c.sizes {
			b.Run(fmt.Sprintf("codec=%s/participants=%d", lower(c.codec), n), func(b *testing.B) {
				br := newBenchRoom(b, c.codec, n, true)
				now := time.Now()
				k := benchWarmup
				deliver := func(i int, pkt []byte) { br.legs[i].handleRTP(pkt, br.srcs[i]) }
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					br.feed(k, deliver)
					br.r.tick(now)
					k++
				}
				reportPerParticipant(b, n)
			})
		}
	}
}

func lower(s string) string {
	out := []byte(s)
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}

// BenchmarkRTPPath is the whole path over real loopback UDP: 100 phones
// each send a PCMU packet to their leg, the room's tick receives, mixes and
// sends, and the phones' sockets are emptied. Only the tick is timed: the
// phones' sending and reading are the same work in every variant (on
// loopback the kernel's delivery into the receiving socket runs in the
// sender's call, so the tick pays for delivering its own packets to the
// phones, and the phones for theirs). Compare with BenchmarkUDPBaseline,
// which does the same I/O with no mixing, one receive and one send per leg
// on ports of their own. ports=shared is the
// default (legs share ports, sharedBatchN a port, read and sent with one
// recvmmsg and one sendmmsg a port); ports=own gives each leg a port, as
// legs behind a NAT get.
func BenchmarkRTPPath(b *testing.B) {
	for _, c := range []struct {
		name    string
		perPort int
	}{{"shared", DefaultLegsPerPort}, {"own", 1}} {
		b.Run("participants=100/ports="+c.name, func(b *testing.B) {
			benchRTPPath(b, c.perPort)
		})
	}
}

func benchRTPPath(b *testing.B, perPort int) {
	const n = 100
	br := newBenchRoomWith(b, codec.PCMU, n, false, Config{LegsPerPort: perPort})
	now := time.Now()
	br.loopOverWire(b, func() { br.r.tick(now) })
}

// loopOverWire is the loop of the benchmarks over real sockets: each op the
// phones send a frame, serve (the server's side) runs and is timed on its
// own, and the phones' sockets are emptied.
func (br *benchRoom) loopOverWire(b *testing.B, serve func()) {
	k := benchWarmup
	deliver := func(i int, pkt []byte) { br.peers[i].WriteToUDPAddrPort(pkt, br.legs[i].local) }
	b.ReportAllocs()
	b.ResetTimer()
	var server time.Duration
	for b.Loop() {
		br.feed(k, deliver)
		t0 := time.Now()
		serve()
		server += time.Since(t0)
		br.drainPeers()
		k++
	}
	reportServerPerParticipant(b, server, br.n)
}

// BenchmarkUDPBaseline is the floor for BenchmarkRTPPath: the same phones
// and the same loopback, each leg on a port of its own doing exactly one
// receive and one send per participant-frame and nothing else, which is
// what a server without batched I/O cannot go below. As there, only the
// server's side is timed.
func BenchmarkUDPBaseline(b *testing.B) {
	const n = 100
	br := newBenchRoomWith(b, codec.PCMU, n, false, Config{LegsPerPort: 1})
	buf := make([]byte, maxDatagram)
	var sa syscall.RawSockaddrAny
	var got int
	var from netip.AddrPort
	recv := func(fd uintptr) bool {
		got, from, _ = recvFrom(fd, buf, &sa)
		return true
	}
	br.loopOverWire(b, func() {
		for _, l := range br.legs {
			got = 0
			l.rtpConn.Read(recv)
			if got > 0 {
				l.rtpConn.WriteToUDPAddrPort(buf[:got], from)
			}
		}
	})
}

// BenchmarkUDPBatchBaseline is the floor of batched I/O: the same phones,
// the legs on shared ports (64 a port), each port read with recvmmsg and
// every datagram sent back to its source with one sendmmsg a port, and
// nothing else. Beside BenchmarkUDPBaseline it shows what batching itself
// saves on this kernel; beside BenchmarkRTPPath/ports=shared, what the
// mixing costs on top.
func BenchmarkUDPBatchBaseline(b *testing.B) {
	const n = 100
	br := newBenchRoomWith(b, codec.PCMU, n, false, Config{})
	var ports []*sharedPort
	for _, l := range br.legs {
		if l.shared == nil {
			b.Fatal("a leg did not get a shared port")
		}
		if !slices.Contains(ports, l.shared) {
			ports = append(ports, l.shared)
		}
	}
	br.loopOverWire(b, func() {
		for _, sp := range ports {
			for {
				var got int
				sp.rtp.Read(func(fd uintptr) bool {
					got, _ = sp.rx.recv(fd, sharedBatchN)
					return true
				})
				for i := range got {
					pkt, from := sp.rx.packet(i)
					sp.tx.add(sp.rtp, pkt, from)
				}
				sp.tx.flush(sp.rtp)
				if got < sharedBatchN {
					break
				}
			}
		}
	})
}
