package mixer

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/srtp/v2"

	"cusax.dev/bridge/mixer/codec"
)

// BenchmarkSRTPPath is BenchmarkRTPPath with every leg on SDES-SRTP: the
// same 100 PCMU phones over loopback UDP, their packets encrypted before
// the timer runs (the phones' work, not the bridge's), then the bridge
// authenticating and decrypting each one, mixing, and encrypting each
// leg's mix. The difference to BenchmarkRTPPath is what SRTP costs the
// bridge per participant-frame.
func BenchmarkSRTPPath(b *testing.B) {
	const n = 100
	h := newHarness(b, codec.PCMU, n, Config{})
	key := make([]byte, 30)
	for i := range key {
		key[i] = byte(i)
	}
	peers := make([]*srtp.Context, n)
	srcs := make([]netip.AddrPort, n)
	for i, l := range h.legs {
		s, err := newSRTP(&SRTPKeys{Suite: SuiteAES128SHA1_80, Local: key, Remote: key})
		if err != nil {
			b.Fatal(err)
		}
		l.srtp = s
		if peers[i], err = srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
			b.Fatal(err)
		}
		srcs[i] = h.peers[i].LocalAddr().(*net.UDPAddr).AddrPort()
	}
	enc, _ := codec.NewEncoder(codec.PCMU)
	payload := make([]byte, codec.MaxPayload)
	k, _ := enc.Encode(make([]int16, codec.FrameSamples), payload)
	plain := make([]byte, 12+k)
	plain[0], plain[1] = 0x80, 96
	copy(plain[12:], payload[:k])
	wire := make([][]byte, n)
	for i := range wire {
		wire[i] = make([]byte, 0, maxDatagram)
	}
	seq := 0
	encrypt := func() {
		for i := range n {
			binary.BigEndian.PutUint16(plain[2:], uint16(seq))
			binary.BigEndian.PutUint32(plain[4:], uint32(seq)*160)
			binary.BigEndian.PutUint32(plain[8:], 0x5000+uint32(i))
			var err error
			if wire[i], err = peers[i].EncryptRTP(wire[i][:0], plain, nil); err != nil {
				b.Fatal(err)
			}
		}
		seq++
	}
	send := func() {
		for i, l := range h.legs {
			h.peers[i].WriteToUDPAddrPort(wire[i], l.local)
		}
	}
	br := &benchRoom{harness: h, n: n}
	now := time.Now()
	for range benchWarmup {
		encrypt()
		send()
		h.r.tick(now)
		br.drainPeers()
	}
	if got := counterValue(h.m.met.dropped[dropSRTP]); got != 0 {
		b.Fatalf("%v packets failed SRTP authentication in the warm-up", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		encrypt()
		b.StartTimer()
		send()
		h.r.tick(now)
		br.drainPeers()
	}
	reportPerParticipant(b, n)
}
