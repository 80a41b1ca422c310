package codec

import (
	"math/rand/v2"
	"testing"
)

// refBand and its block4 are the first, literal transcription of the
// recommendation's block 4, kept to prove the optimised one bit-exact.
type refBand struct {
	s, sp, sz int32
	r, a, ap  [3]int32
	p         [3]int32
	d, b, bp  [7]int32
	sg        [7]int32
}

// block4 (reference) updates the band's predictor with the quantised difference d
// (blocks RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ,
// PREDIC).
func (s *refBand) block4(d int32) {
	s.d[0] = d
	s.r[0] = sat(s.s + d)
	s.p[0] = sat(s.sz + d)

	for i := range 3 {
		s.sg[i] = s.p[i] >> 15
	}
	wd1 := sat(s.a[1] << 2)
	wd2 := wd1
	if s.sg[0] == s.sg[1] {
		wd2 = -wd1
	}
	if wd2 > 32767 {
		wd2 = 32767
	}
	wd3 := wd2 >> 7
	if s.sg[0] == s.sg[2] {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (s.a[2] * 32512) >> 15
	wd3 = max(-12288, min(12288, wd3))
	s.ap[2] = wd3

	s.sg[0] = s.p[0] >> 15
	s.sg[1] = s.p[1] >> 15
	wd1 = -192
	if s.sg[0] == s.sg[1] {
		wd1 = 192
	}
	wd2 = (s.a[1] * 32640) >> 15
	s.ap[1] = sat(wd1 + wd2)
	wd3 = sat(15360 - s.ap[2])
	s.ap[1] = max(-wd3, min(wd3, s.ap[1]))

	wd1 = 128
	if d == 0 {
		wd1 = 0
	}
	s.sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		s.sg[i] = s.d[i] >> 15
		wd2 = -wd1
		if s.sg[i] == s.sg[0] {
			wd2 = wd1
		}
		wd3 = (s.b[i] * 32640) >> 15
		s.bp[i] = sat(wd2 + wd3)
	}

	for i := 6; i > 0; i-- {
		s.d[i] = s.d[i-1]
		s.b[i] = s.bp[i]
	}
	for i := 2; i > 0; i-- {
		s.r[i] = s.r[i-1]
		s.p[i] = s.p[i-1]
		s.a[i] = s.ap[i]
	}

	wd1 = sat(s.r[1] + s.r[1])
	wd1 = (s.a[1] * wd1) >> 15
	wd2 = sat(s.r[2] + s.r[2])
	wd2 = (s.a[2] * wd2) >> 15
	s.sp = sat(wd1 + wd2)

	s.sz = 0
	for i := 6; i > 0; i-- {
		wd1 = sat(s.d[i] + s.d[i])
		s.sz += (s.b[i] * wd1) >> 15
	}
	s.sz = sat(s.sz)
	s.s = sat(s.sp + s.sz)
}

func TestBlock4MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var ref refBand
	var opt g722Band
	for i := range 200000 {
		d := int32(rng.IntN(65536) - 32768)
		if i%3 == 0 {
			d = int32(rng.IntN(200) - 100)
		}
		if i%7 == 0 {
			d = 0
		}
		ref.block4(d)
		opt.block4(d)
		if ref.s != opt.s || ref.sz != opt.sz || ref.sp != opt.sp || ref.a[1] != opt.a[1] || ref.a[2] != opt.a[2] || ref.b != opt.b || [6]int32(ref.d[1:]) != [6]int32(opt.d[1:]) {
			t.Fatalf("step %d (d=%d): optimised block 4 diverged from the reference", i, d)
		}
	}
}
