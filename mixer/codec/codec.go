// Package codec holds the audio codecs the mixer speaks on the wire, each
// wrapped to take and give 16 kHz mono PCM, the mixer's internal rate: G.711
// PCMU and PCMA (ITU-T G.711, RFC 3551), G.722 in its 64 kbit/s mode (ITU-T
// G.722, RFC 3551 section 4.5.2) and Opus (RFC 6716, RFC 7587).
//
// Every encoder and decoder owns its buffers: after construction, Encode,
// Decode and Conceal allocate nothing, so the mixer's 20 ms tick stays free of
// garbage.
package codec

import (
	"errors"
	"fmt"
	"strings"
)

const (
	// SampleRate is the rate of the PCM every Encoder takes and every Decoder
	// gives: the mixer mixes at 16 kHz (see docs/design/03_mixer.md).
	SampleRate = 16000
	// FrameSamples is one 20 ms frame at SampleRate, the unit every Encoder
	// encodes.
	FrameSamples = SampleRate / 50
	// MaxDecodeSamples bounds what one Decode may return (120 ms at 16 kHz,
	// Opus's longest packet, and 2880 for 180 ms of G.711 or G.722): decode
	// buffers must be at least this long.
	MaxDecodeSamples = 2880
	// MaxPayload is the longest RTP payload any decoder accepts; longer ones
	// are rejected (Opus's maximum packet is 1275 bytes).
	MaxPayload = 1440
)

// Names of the codecs as they appear in an SDP rtpmap, compared
// case-insensitively by Lookup.
const (
	PCMU = "PCMU"
	PCMA = "PCMA"
	G722 = "G722"
	Opus = "opus"
)

// ErrPayload reports a payload a decoder cannot use (empty, too long, or not
// a whole number of codewords).
var ErrPayload = errors.New("codec: bad payload")

// Info describes a codec as RTP carries it.
type Info struct {
	Name string // as in SDP rtpmap
	// ClockRate is the RTP timestamp rate. For G.722 it is 8000 although the
	// audio is sampled at 16 kHz: RFC 3551 section 4.5.2 kept an error of
	// RFC 1890 for compatibility.
	ClockRate uint32
	// FrameTicks is how far the RTP timestamp advances per 20 ms frame.
	FrameTicks uint32
	// StaticPT is the RFC 3551 static payload type, or -1 for a dynamic one.
	StaticPT int
	// Channels is the channel count SDP names (2 for opus/48000/2 even though
	// the mixer sends mono).
	Channels int
}

var infos = [...]Info{
	{Name: Opus, ClockRate: 48000, FrameTicks: 960, StaticPT: -1, Channels: 2},
	{Name: G722, ClockRate: 8000, FrameTicks: 160, StaticPT: 9, Channels: 1},
	{Name: PCMU, ClockRate: 8000, FrameTicks: 160, StaticPT: 0, Channels: 1},
	{Name: PCMA, ClockRate: 8000, FrameTicks: 160, StaticPT: 8, Channels: 1},
}

// All returns every supported codec in order of preference.
func All() []Info {
	out := make([]Info, len(infos))
	copy(out, infos[:])
	return out
}

// Lookup finds a codec by its SDP name, ignoring case.
func Lookup(name string) (Info, error) {
	for _, in := range infos {
		if strings.EqualFold(in.Name, name) {
			return in, nil
		}
	}
	return Info{}, fmt.Errorf("codec: want one of opus, G722, PCMU, PCMA, got %q", name)
}

// Decoder turns RTP payloads into 16 kHz mono PCM.
type Decoder interface {
	// Decode decodes one payload into pcm (at least MaxDecodeSamples long)
	// and returns the number of samples written.
	Decode(payload []byte, pcm []int16) (int, error)
	// Conceal fills pcm with up to n samples standing for a lost packet and
	// returns how many it wrote; 0 means the codec has no concealment of its
	// own and the caller should use a generic one.
	Conceal(pcm []int16, n int) int
}

// Encoder turns one 20 ms frame of 16 kHz mono PCM (FrameSamples long) into
// an RTP payload.
type Encoder interface {
	// Encode writes the payload into out and returns its length.
	Encode(pcm []int16, out []byte) (int, error)
}

// NewDecoder returns a decoder for the named codec.
func NewDecoder(name string) (Decoder, error) {
	in, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	switch in.Name {
	case PCMU:
		return &g711Decoder{table: &ulawTable, square: &ulawSquare}, nil
	case PCMA:
		return &g711Decoder{table: &alawTable, square: &alawSquare}, nil
	case G722:
		return NewG722Decoder(), nil
	default:
		return newOpusDecoder()
	}
}

// NewEncoder returns an encoder for the named codec.
func NewEncoder(name string) (Encoder, error) {
	in, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	switch in.Name {
	case PCMU:
		return &g711Encoder{alaw: false}, nil
	case PCMA:
		return &g711Encoder{alaw: true}, nil
	case G722:
		return NewG722Encoder(), nil
	default:
		return newOpusEncoder()
	}
}

// Lazy is implemented by stateless decoders (G.711) whose payload level can
// be measured without decoding: the mixer then decodes and resamples only the
// frames it actually mixes, the few loudest talkers.
type Lazy interface {
	// Level returns the mean square of the payload's samples and the number
	// of 16 kHz samples it would decode to.
	Level(payload []byte) (meanSquare int64, samples int)
	// Reset clears resampler history after frames were skipped.
	Reset()
}

// Activity is implemented by decoders whose payloads tell, without being
// decoded, that the sender's encoder heard no voice in the frame (Opus's VAD
// flag). Most legs of a big room carry only their line's noise; the mixer
// skips decoding those frames from legs that are not talking.
type Activity interface {
	// Inactive reports whether payload is one 20 ms frame its encoder
	// marked as holding no voice.
	Inactive(payload []byte) bool
	// Reset clears the decoder's state after frames were skipped, so that
	// decoding resumes as at the start of a stream.
	Reset()
}
