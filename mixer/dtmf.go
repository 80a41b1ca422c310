package mixer

import "encoding/binary"

// dtmfState decodes RFC 4733 telephone events. An event is reported once,
// when its end bit is first seen: the sender repeats the end packet (usually
// three times) and those repeats carry the same RTP timestamp, which
// identifies the event. If every end packet is lost, the event is reported
// when the next event starts.
type dtmfState struct {
	valid    bool
	ssrc     uint32
	ts       uint32
	event    uint8
	reported bool
}

// dtmfDigits maps RFC 4733 section 3.2 event codes 0-15 to digits.
const dtmfDigits = "0123456789*#ABCD"

func (d *dtmfState) handle(l *Leg, ssrc, ts uint32, payload []byte) {
	if len(payload) < 4 {
		l.m.met.dropped[dropMalformed].Inc()
		return
	}
	event := payload[0]
	end := payload[1]&0x80 != 0
	_ = binary.BigEndian.Uint16(payload[2:4]) // duration: not needed for digits
	if event >= uint8(len(dtmfDigits)) {
		return // not a DTMF digit (e.g. a fax tone): ignored
	}
	same := d.valid && d.ssrc == ssrc && d.ts == ts
	if !same {
		if d.valid && !d.reported {
			l.emitDigit(d.event)
		}
		d.valid, d.ssrc, d.ts, d.event, d.reported = true, ssrc, ts, event, false
	}
	if end && !d.reported {
		d.reported = true
		l.emitDigit(event)
	}
}

func (l *Leg) emitDigit(event uint8) {
	l.m.emit(Event{Kind: EventDTMF, Room: l.room.name, LegID: l.id, Digit: rune(dtmfDigits[event])})
}
