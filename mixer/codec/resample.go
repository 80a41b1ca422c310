package codec

import "math"

// The 2:1 resamplers share one half-band low-pass FIR (cutoff a quarter of
// the 16 kHz rate, Blackman-windowed sinc, 2*halfTaps+1 taps). In a
// half-band filter every even tap but the centre is zero, so the polyphase
// forms below only multiply the odd taps: 12 multiplies per output sample.
// Images and aliases of speech below 2 kHz end up ~70 dB down (the band edge
// near 4 kHz is soft) without making resampling the mixer's hottest loop.
const (
	halfTaps = 11 // the filter spans -halfTaps..+halfTaps
	oddTaps  = (halfTaps + 1) / 2
	hist     = 2 * halfTaps
	q        = 15 // fixed-point fraction bits of the coefficients
)

// oddCoef[k] is the Q15 coefficient of taps ±(2k+1), already doubled for
// interpolation gain where used by Upsampler (see there).
var oddCoef = func() (c [oddTaps]int32) {
	var sum float64
	var f [oddTaps]float64
	for k := range oddTaps {
		n := float64(2*k + 1)
		sinc := math.Sin(math.Pi*n/2) / (math.Pi * n / 2)
		w := 0.42 + 0.5*math.Cos(math.Pi*n/(halfTaps+1)) + 0.08*math.Cos(2*math.Pi*n/(halfTaps+1))
		f[k] = 0.5 * sinc * w
		sum += 2 * f[k]
	}
	// Normalise so DC gain is exactly 1 with the 0.5 centre tap.
	for k := range oddTaps {
		c[k] = int32(math.Round(f[k] * 0.5 / sum * (1 << q)))
	}
	return c
}()

func clamp16(v int32) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// Upsampler doubles the sample rate (8 kHz to 16 kHz). It keeps the last
// input samples between calls so consecutive frames join without clicks. The
// zero value is ready to use.
type Upsampler struct {
	h [hist]int16 // most recent input samples, oldest first
}

// Process writes 2*len(in) samples to out and returns that count; out must be
// long enough.
func (u *Upsampler) Process(in, out []int16) int {
	// With zero-stuffing the even outputs meet only the centre tap (gain
	// 0.5*2 = 1, a delayed copy) and the odd outputs only the odd taps.
	// x(j) is input sample j counted from the start of in; negative j come
	// from history. Output 2i is x(i-oddTaps) and output 2i+1 is
	// sum_k 2*c[k]*(x(i-oddTaps-k)+x(i-oddTaps+k+1)).
	n := len(in)
	at := func(j int) int32 {
		if j >= 0 {
			return int32(in[j])
		}
		return int32(u.h[hist+j])
	}
	for i := range n {
		base := i - oddTaps
		out[2*i] = int16(at(base))
		var acc int32
		if base-oddTaps+1 >= 0 && base+oddTaps < n {
			for k := range oddTaps {
				acc += oddCoef[k] * (int32(in[base-k]) + int32(in[base+k+1]))
			}
		} else {
			for k := range oddTaps {
				acc += oddCoef[k] * (at(base-k) + at(base+k+1))
			}
		}
		out[2*i+1] = clamp16((acc*2 + 1<<(q-1)) >> q)
	}
	u.keep(in)
	return 2 * n
}

func (u *Upsampler) keep(in []int16) {
	if len(in) >= hist {
		copy(u.h[:], in[len(in)-hist:])
		return
	}
	copy(u.h[:], u.h[len(in):])
	copy(u.h[hist-len(in):], in)
}

// Reset forgets the history, as after a gap in the stream.
func (u *Upsampler) Reset() { u.h = [hist]int16{} }

// Downsampler halves the sample rate (16 kHz to 8 kHz) after low-pass
// filtering. The zero value is ready to use.
type Downsampler struct {
	h [hist]int16
}

// Process writes len(in)/2 samples to out (len(in) must be even) and returns
// that count.
func (d *Downsampler) Process(in, out []int16) int {
	n := len(in) / 2
	at := func(j int) int32 {
		if j >= 0 {
			return int32(in[j])
		}
		return int32(d.h[hist+j])
	}
	// Output i is centred on input 2i-halfTaps (delay halfTaps samples):
	// 0.5*x(c) + sum_k c[k]*(x(c-2k-1)+x(c+2k+1)).
	for i := range n {
		c := 2*i - halfTaps
		acc := at(c) << (q - 1)
		if c-halfTaps >= 0 {
			for k := range oddTaps {
				acc += oddCoef[k] * (int32(in[c-2*k-1]) + int32(in[c+2*k+1]))
			}
		} else {
			for k := range oddTaps {
				acc += oddCoef[k] * (at(c-2*k-1) + at(c+2*k+1))
			}
		}
		out[i] = clamp16((acc + 1<<(q-1)) >> q)
	}
	d.keepDown(in)
	return n
}

func (d *Downsampler) keepDown(in []int16) {
	if len(in) >= hist {
		copy(d.h[:], in[len(in)-hist:])
		return
	}
	copy(d.h[:], d.h[len(in):])
	copy(d.h[hist-len(in):], in)
}
