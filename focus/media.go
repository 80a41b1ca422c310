package focus

import "net/netip"

// Codec is one audio codec the media engine can mix, named as in an SDP
// rtpmap ("PCMU", "PCMA", "G722", "opus"). It mirrors mixer.CodecSpec so the
// focus does not need the mixer to negotiate (tests use a fake engine).
type Codec struct {
	Name        string
	PayloadType uint8
	ClockRate   uint32
	Channels    int
}

// MediaLegConfig says what one call leg sends and receives.
type MediaLegConfig struct {
	Room           string
	Codec          Codec
	TelephoneEvent uint8          // RFC 4733 payload type; 0 = none
	Remote         netip.AddrPort // zero until known
	SRTP           *SRTPKeys      // nil: plain RTP
	// BehindNAT says the media may come from somewhere else than Remote:
	// the call's signalling came from another host than its SDP names (a
	// NAT, or a proxy in front of the phone). The mixer then gives the
	// leg a port of its own, where it latches to the real source.
	BehindNAT bool
}

// Media is what the focus needs from the media engine: the codecs it mixes,
// in order of preference, and a way to put a leg into a room. The mixer is
// adapted to it in media_mixer.go; unit tests use a fake.
type Media interface {
	Codecs() []Codec
	AddLeg(cfg MediaLegConfig) (MediaLeg, error)
}

// MediaLeg is one call's RTP port pair in a room.
type MediaLeg interface {
	ID() uint64
	LocalAddr() netip.AddrPort
	Update(cfg MediaLegConfig) error
	SetMuted(bool)
	SetDeaf(bool)
	SetHold(bool)
	Close() error
}
