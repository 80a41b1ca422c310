package codec

import "fmt"

// G.722 (ITU-T G.722, 64 kbit/s mode only): sub-band ADPCM. A quadrature
// mirror filter splits 16 kHz audio into a low band (0-4 kHz, 6 bits per
// sample) and a high band (4-8 kHz, 2 bits), each coded with an adaptive
// quantiser and a pole/zero predictor; one byte carries one low and one high
// sample, so a 20 ms frame of 320 samples is 160 bytes. No Go library the
// module proxy serves implements it, so this is a direct transcription of
// the recommendation's fixed-point blocks (the block names in comments are
// the recommendation's).

var (
	g722qmf = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
	g722q6  = [32]int32{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	g722iln = [32]int32{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	g722ilp = [32]int32{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	g722wl   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722rl42 = [16]int32{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722ilb  = [32]int32{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
	g722qm4 = [16]int32{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	g722qm6 = [64]int32{-136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136}
	g722qm2 = [4]int32{-7408, -1616, 7408, 1616}
	g722ihn = [3]int32{0, 1, 0}
	g722ihp = [3]int32{0, 3, 2}
	g722wh  = [3]int32{0, -214, 798}
	g722rh2 = [4]int32{2, 1, 2, 1}
)

func sat(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// g722Band is one sub-band's ADPCM state.
type g722Band struct {
	s, sp, sz int32
	r, a, p   [3]int32
	d, b      [7]int32
	nb, det   int32
}

// block4 updates the band's predictor with the quantised difference d
// (blocks RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ,
// PREDIC), written with scalars so the compiler keeps it in registers: it
// runs twice per byte and dominates G.722's cost.
func (s *g722Band) block4(d int32) {
	r0 := sat(s.s + d)
	p0 := sat(s.sz + d)

	// UPPOL2
	sg0, sg1, sg2 := p0>>15, s.p[1]>>15, s.p[2]>>15
	wd1 := sat(s.a[1] << 2)
	wd2 := wd1
	if sg0 == sg1 {
		wd2 = -wd1
	}
	if wd2 > 32767 {
		wd2 = 32767
	}
	wd3 := wd2 >> 7
	if sg0 == sg2 {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (s.a[2] * 32512) >> 15
	ap2 := max(-12288, min(12288, wd3))

	// UPPOL1
	wd1 = -192
	if sg0 == sg1 {
		wd1 = 192
	}
	ap1 := sat(wd1 + (s.a[1]*32640)>>15)
	lim := sat(15360 - ap2)
	ap1 = max(-lim, min(lim, ap1))

	// UPZERO, then DELAYA for the zero section.
	var step int32 = 128
	if d == 0 {
		step = 0
	}
	sgd := d >> 15
	b, dd := &s.b, &s.d
	for i := 1; i < 7; i++ {
		w := -step
		if dd[i]>>15 == sgd {
			w = step
		}
		b[i] = sat(w + (b[i]*32640)>>15)
	}
	dd[6], dd[5], dd[4], dd[3], dd[2], dd[1] = dd[5], dd[4], dd[3], dd[2], dd[1], d

	// DELAYA for the pole section.
	s.r[2], s.r[1] = s.r[1], r0
	s.p[2], s.p[1] = s.p[1], p0
	s.a[2], s.a[1] = ap2, ap1

	// FILTEP, FILTEZ, PREDIC
	s.sp = sat((ap1*sat(s.r[1]+s.r[1]))>>15 + (ap2*sat(s.r[2]+s.r[2]))>>15)
	var sz int32
	for i := 1; i < 7; i++ {
		sz += (b[i] * sat(dd[i]+dd[i])) >> 15
	}
	s.sz = sat(sz)
	s.s = sat(s.sp + s.sz)
}

// scale is blocks SCALEL/SCALEH: the quantiser step from the log scale nb.
func scale(nb, shift int32) int32 {
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int32
	if wd2 < 0 {
		wd3 = g722ilb[wd1] << -wd2
	} else {
		wd3 = g722ilb[wd1] >> wd2
	}
	return wd3 << 2
}

// lowAdapt is blocks INVQAL, LOGSCL, SCALEL and the predictor update for the
// low band, shared by encoder and decoder.
func (s *g722Band) lowAdapt(ilow int32) {
	ril := ilow >> 2
	dlow := (s.det * g722qm4[ril]) >> 15
	nb := (s.nb*127)>>7 + g722wl[g722rl42[ril]]
	s.nb = max(0, min(18432, nb))
	s.det = scale(s.nb, 8)
	s.block4(dlow)
}

// highAdapt is the same for the high band.
func (s *g722Band) highAdapt(ihigh int32) {
	dhigh := (s.det * g722qm2[ihigh]) >> 15
	nb := (s.nb*127)>>7 + g722wh[g722rh2[ihigh]]
	s.nb = max(0, min(22528, nb))
	s.det = scale(s.nb, 10)
	s.block4(dhigh)
}

// G722Encoder encodes 16 kHz PCM at 64 kbit/s. Create it with
// NewG722Encoder.
type G722Encoder struct {
	x    [22 + FrameSamples]int32 // QMF history then this chunk's input
	band [2]g722Band
}

// NewG722Encoder returns an encoder in the recommendation's reset state.
func NewG722Encoder() *G722Encoder {
	e := &G722Encoder{}
	e.band[0].det = 32
	e.band[1].det = 8
	return e
}

// Encode codes pcm (an even number of 16 kHz samples) into len(pcm)/2 bytes.
func (e *G722Encoder) Encode(pcm []int16, out []byte) (int, error) {
	if len(pcm)%2 != 0 {
		return 0, fmt.Errorf("codec: G.722 encodes sample pairs, got %d samples", len(pcm))
	}
	if len(out) < len(pcm)/2 {
		return 0, fmt.Errorf("codec: G.722 output buffer holds %d bytes, needs %d", len(out), len(pcm)/2)
	}
	for start := 0; start < len(pcm); start += FrameSamples {
		chunk := pcm[start:min(len(pcm), start+FrameSamples)]
		e.encodeChunk(chunk, out[start/2:])
	}
	return len(pcm) / 2, nil
}

// encodeChunk codes up to FrameSamples samples. The QMF works on a window
// sliding over history+input instead of shifting a 24-sample line per pair.
func (e *G722Encoder) encodeChunk(pcm []int16, out []byte) {
	x := e.x[:22+len(pcm)]
	for i, v := range pcm {
		x[22+i] = int32(v)
	}
	for j := 0; j < len(pcm); j += 2 {
		// Transmit QMF: keep every other output of the two filters.
		w := (*[24]int32)(x[j : j+24])
		var sumEven, sumOdd int32
		for i := range 12 {
			sumOdd += w[2*i] * g722qmf[i]
			sumEven += w[2*i+1] * g722qmf[11-i]
		}
		xlow := (sumEven + sumOdd) >> 14
		xhigh := (sumEven - sumOdd) >> 14

		// Low band: SUBTRA, QUANTL.
		lo := &e.band[0]
		el := sat(xlow - lo.s)
		wd := el
		if el < 0 {
			wd = -(el + 1)
		}
		i := int32(1)
		for ; i < 30; i++ {
			if wd < (g722q6[i]*lo.det)>>12 {
				break
			}
		}
		ilow := g722ilp[i]
		if el < 0 {
			ilow = g722iln[i]
		}
		lo.lowAdapt(ilow)

		// High band: SUBTRA, QUANTH.
		hi := &e.band[1]
		eh := sat(xhigh - hi.s)
		wd = eh
		if eh < 0 {
			wd = -(eh + 1)
		}
		mih := int32(1)
		if wd >= (564*hi.det)>>12 {
			mih = 2
		}
		ihigh := g722ihp[mih]
		if eh < 0 {
			ihigh = g722ihn[mih]
		}
		hi.highAdapt(ihigh)

		out[j/2] = byte(ihigh<<6 | ilow)
	}
	copy(e.x[:22], x[len(x)-22:])
}

// G722Decoder decodes 64 kbit/s G.722 to 16 kHz PCM. Create it with
// NewG722Decoder.
type G722Decoder struct {
	x    [22 + MaxDecodeSamples]int32 // QMF history then this payload's band sums
	band [2]g722Band
}

// NewG722Decoder returns a decoder in the recommendation's reset state.
func NewG722Decoder() *G722Decoder {
	d := &G722Decoder{}
	d.band[0].det = 32
	d.band[1].det = 8
	return d
}

// Decode turns each byte of payload into two samples.
func (d *G722Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) == 0 || 2*len(payload) > MaxDecodeSamples {
		return 0, fmt.Errorf("%w: G.722 wants 1 to %d bytes, got %d", ErrPayload, MaxDecodeSamples/2, len(payload))
	}
	if len(pcm) < 2*len(payload) {
		return 0, fmt.Errorf("codec: G.722 decode buffer holds %d samples, needs %d", len(pcm), 2*len(payload))
	}
	x := d.x[:22+2*len(payload)]
	out := 0
	for _, code := range payload {
		ilow := int32(code & 0x3f)
		ihigh := int32(code>>6) & 3

		// Low band: INVQBL, RECONS, LIMIT, then adaptation.
		lo := &d.band[0]
		rlow := lo.s + (lo.det*g722qm6[ilow])>>15
		rlow = max(-16384, min(16383, rlow))
		lo.lowAdapt(ilow)

		// High band: INVQAH, RECONS, LIMIT, then adaptation.
		hi := &d.band[1]
		rhigh := hi.s + (hi.det*g722qm2[ihigh])>>15
		rhigh = max(-16384, min(16383, rhigh))
		hi.highAdapt(ihigh)

		// Receive QMF, on a window sliding over history+new values.
		x[22+out] = rlow + rhigh
		x[23+out] = rlow - rhigh
		w := (*[24]int32)(x[out : out+24])
		var xout1, xout2 int32
		for i := range 12 {
			xout2 += w[2*i] * g722qmf[i]
			xout1 += w[2*i+1] * g722qmf[11-i]
		}
		pcm[out] = int16(sat(xout1 >> 11))
		pcm[out+1] = int16(sat(xout2 >> 11))
		out += 2
	}
	copy(d.x[:22], x[len(x)-22:])
	return out, nil
}

// Conceal has no G.722-specific concealment; the mixer's generic one runs.
func (d *G722Decoder) Conceal([]int16, int) int { return 0 }
