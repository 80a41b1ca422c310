package focus

import (
	"cusax.dev/bridge/mixer"
)

// NewMixerMedia adapts the mixer to the Media interface the focus drives.
// cmd/bridge also routes the mixer's events to the focus with
// MixerEvents, so RFC 4733 digits and RTP timeouts reach the legs.
func NewMixerMedia(m *mixer.Mixer) Media { return mixerMedia{m} }

type mixerMedia struct{ m *mixer.Mixer }

func (mm mixerMedia) Codecs() []Codec {
	specs := mixer.SupportedCodecs()
	out := make([]Codec, len(specs))
	for i, s := range specs {
		out[i] = Codec(s)
	}
	return out
}

func (mm mixerMedia) AddLeg(cfg MediaLegConfig) (MediaLeg, error) {
	l, err := mm.m.AddLeg(toMixer(cfg))
	if err != nil {
		return nil, err
	}
	return mixerLeg{l}, nil
}

type mixerLeg struct{ *mixer.Leg }

func (ml mixerLeg) Update(cfg MediaLegConfig) error { return ml.Leg.Update(toMixer(cfg)) }

func toMixer(cfg MediaLegConfig) mixer.LegConfig {
	lc := mixer.LegConfig{Room: cfg.Room, Codec: mixer.CodecSpec(cfg.Codec),
		TelephoneEvent: cfg.TelephoneEvent, Remote: cfg.Remote, BehindNAT: cfg.BehindNAT}
	if k := cfg.SRTP; k != nil {
		lc.SRTP = &mixer.SRTPKeys{Suite: k.Suite, Local: k.Local, Remote: k.Remote}
	}
	return lc
}

// MixerEvents returns the function to put in mixer.Config.OnEvent (or to
// call from it): DTMF digits go to their leg (and may toggle self-mute),
// RTP timeouts and RTCP BYEs hang the call up.
func (f *Focus) MixerEvents() func(mixer.Event) {
	return func(ev mixer.Event) {
		switch ev.Kind {
		case mixer.EventDTMF:
			f.MediaDTMF(ev.LegID, ev.Digit)
		case mixer.EventRTPTimeout, mixer.EventRTCPBye:
			f.MediaTimeout(ev.LegID)
		}
	}
}
