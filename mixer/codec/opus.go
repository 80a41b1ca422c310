package codec

import (
	"fmt"

	"github.com/thesyncim/gopus"
)

// Opus runs natively at 16 kHz here: an Opus decoder may render any stream at
// any of its rates and the encoder takes 16 kHz input, so no resampler sits in
// the Opus path even though RTP carries Opus with a 48 kHz clock (RFC 7587).

// OpusBitrate is the bitrate the mixer's Opus encoders use: plenty for
// wideband speech.
const OpusBitrate = 32000

// opusComplexity trades encoder quality for CPU; 5 halves the cost of the
// default 10 with no audible difference for speech.
const opusComplexity = 5

type opusDecoder struct {
	dec *gopus.Decoder
}

func newOpusDecoder() (*opusDecoder, error) {
	cfg := gopus.DefaultDecoderConfig(SampleRate, 1)
	cfg.MaxPacketSamples = MaxDecodeSamples
	d, err := gopus.NewDecoder(cfg)
	if err != nil {
		return nil, fmt.Errorf("codec: opus decoder: %w", err)
	}
	return &opusDecoder{dec: d}, nil
}

func (d *opusDecoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) == 0 || len(payload) > MaxPayload {
		return 0, fmt.Errorf("%w: opus wants 1 to %d bytes, got %d", ErrPayload, MaxPayload, len(payload))
	}
	n, err := d.dec.DecodeInt16(payload, pcm)
	if err != nil {
		return 0, fmt.Errorf("%w: opus: %w", ErrPayload, err)
	}
	return n, nil
}

// Inactive reads the voice activity (VAD) flag of a single 20 ms mono frame
// in SILK or hybrid mode. The SILK layer opens with its header flags, one VAD
// bit per SILK frame and then the LBRR flag (RFC 6716 section 4.2.3), which
// the encoder writes as the stream's very first bits, so the flag is the top
// bit of the byte after the TOC; libopus's opus_packet_has_lbrr reads the
// LBRR flag beside it the same way. CELT-only frames carry no such flag, and
// other packings are left to the decoder: both count as active.
func (d *opusDecoder) Inactive(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	toc := gopus.ParseTOC(payload[0])
	if toc.Mode == gopus.ModeCELT || toc.Stereo || toc.FrameCode != 0 || toc.FrameSize != opusFrame48k {
		return false
	}
	return payload[1]&0x80 == 0
}

// opusFrame48k is a 20 ms frame counted at 48 kHz, as TOC.FrameSize counts.
const opusFrame48k = 960

// Reset forgets the stream so far.
func (d *opusDecoder) Reset() { d.dec.Reset() }

// Conceal runs Opus's own packet loss concealment.
func (d *opusDecoder) Conceal(pcm []int16, n int) int {
	got, err := d.dec.DecodeInt16(nil, pcm)
	if err != nil || got <= 0 {
		return 0
	}
	if got > n {
		got = n
	}
	return got
}

type opusEncoder struct {
	enc *gopus.Encoder
}

func newOpusEncoder() (*opusEncoder, error) {
	e, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: SampleRate, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		return nil, fmt.Errorf("codec: opus encoder: %w", err)
	}
	if err := e.SetFrameSize(FrameSamples); err != nil {
		return nil, fmt.Errorf("codec: opus frame size: %w", err)
	}
	if err := e.SetBitrate(OpusBitrate); err != nil {
		return nil, fmt.Errorf("codec: opus bitrate: %w", err)
	}
	if err := e.SetComplexity(opusComplexity); err != nil {
		return nil, fmt.Errorf("codec: opus complexity: %w", err)
	}
	return &opusEncoder{enc: e}, nil
}

func (e *opusEncoder) Encode(pcm []int16, out []byte) (int, error) {
	n, err := e.enc.EncodeInt16(pcm, out)
	if err != nil {
		return 0, fmt.Errorf("codec: opus encode: %w", err)
	}
	return n, nil
}
