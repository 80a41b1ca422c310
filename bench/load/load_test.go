package main

import (
	"net/netip"
	"testing"
)

func TestRTPSeqPayload(t *testing.T) {
	pkt := []byte{0x80, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x7f}
	seq, p, ok := rtpSeqPayload(pkt)
	if !ok || seq != 0x1234 || len(p) != 2 {
		t.Fatalf("rtpSeqPayload = %x %x %v", seq, p, ok)
	}
	ext := []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0xaa}
	if _, p, ok := rtpSeqPayload(ext); !ok || len(p) != 1 || p[0] != 0xaa {
		t.Fatalf("with a header extension: %x %v", p, ok)
	}
	for _, bad := range [][]byte{nil, pkt[:11], {0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, pkt[:12], ext[:14]} {
		if _, _, ok := rtpSeqPayload(bad); ok {
			t.Errorf("rtpSeqPayload(%x) accepted it", bad)
		}
	}
}

func TestSequenceExtension(t *testing.T) {
	var s legStats
	s.lastSeq, s.haveSeq = 0xffff, true
	if got := s.extend(0); got != 0x10000 {
		t.Errorf("extend(0) after 0xffff = %#x, want 0x10000", got)
	}
	s.lastSeq = 0x10001
	if got := s.extend(0xfffe); got != 0xfffe {
		t.Errorf("a late 0xfffe after 0x10001 = %#x, want 0xfffe", got)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := range 100 {
		h.add(float64(i) * 1e5) // 0 .. 9.9 ms
	}
	if p50, p99 := h.quantile(0.5), h.quantile(0.99); p50 < 4.9 || p50 > 5.0 || p99 < 9.8 || p99 > 9.9 {
		t.Errorf("p50, p99 = %v, %v ms; want about 4.9 and 9.8", p50, p99)
	}
}

func TestSDPAudio(t *testing.T) {
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0\r\n"
	got, err := sdpAudio([]byte(body))
	if err != nil || got != netip.MustParseAddrPort("127.0.0.1:20002") {
		t.Fatalf("sdpAudio = %v, %v", got, err)
	}
	if _, err := sdpAudio([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 1 RTP/AVP 96\r\n")); err == nil {
		t.Error("an answer without audio was accepted")
	}
}

func FuzzRTPSeqPayload(f *testing.F) {
	f.Add([]byte{0x80, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 1, 0xff})
	f.Add([]byte{0xb1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0xaa, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, p, ok := rtpSeqPayload(b); ok && len(p) == 0 {
			t.Fatal("accepted an empty payload")
		}
	})
}

func FuzzSDPAudio(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ap, err := sdpAudio(b); err == nil && ap.Port() == 0 {
			t.Fatal("accepted port 0")
		}
	})
}

func FuzzKernelTime(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { _ = kernelTime(b) })
}

// TestGroupCount: the legs of a room come from different generator sockets
// (up to 64 a room), and no socket carries more than 64 legs.
func TestGroupCount(t *testing.T) {
	for _, c := range []struct{ n, room int }{{100, 10}, {300, 10}, {2000, 10}, {500, 4}, {2000, 4}, {500, 500}, {7, 10}} {
		g := groupCount(c.n, c.room)
		if per := (c.n + g - 1) / g; per > legsPerSocket {
			t.Errorf("n=%d room=%d: %d sockets carry up to %d legs each, want at most %d", c.n, c.room, g, per, legsPerSocket)
		}
		for r := 0; r*c.room < c.n; r++ {
			seen := map[int]bool{}
			for i := r * c.room; i < min((r+1)*c.room, c.n); i++ {
				if seen[i%g] && c.room <= legsPerSocket {
					t.Fatalf("n=%d room=%d: room %d has two legs on socket %d", c.n, c.room, r, i%g)
				}
				seen[i%g] = true
			}
		}
	}
}
