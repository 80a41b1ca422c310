package mixer

// EventKind names what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventDTMF: an RFC 4733 telephone event ended; Digit holds it.
	EventDTMF EventKind = iota + 1
	// EventTalking: a leg started or stopped talking (Talking).
	EventTalking
	// EventDominantSpeaker: LegID became the room's dominant speaker.
	EventDominantSpeaker
	// EventRTPTimeout: a leg not on hold sent no media for Config.RTPTimeout.
	EventRTPTimeout
	// EventRTCPBye: the remote sent an RTCP BYE.
	EventRTCPBye
)

var eventNames = [...]string{"", "dtmf", "talking", "dominant-speaker", "rtp-timeout", "rtcp-bye"}

// String names the kind for logs and the bridge_mixer_events_total label.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is what the mixer tells its owner through Config.OnEvent.
type Event struct {
	Kind    EventKind
	Room    string
	LegID   uint64
	Digit   rune // EventDTMF: '0'-'9', '*', '#', 'A'-'D'
	Talking bool // EventTalking: started (true) or stopped (false)
}
