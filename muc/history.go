package muc

import (
	"strconv"
	"time"
)

// historyItem is one groupchat message as broadcast (without a to), kept
// for the history sent on join (XEP-0045 7.2.15).
type historyItem struct {
	msg   *element
	at    time.Time
	chars int
}

func (s *Service) addHistory(r *room, msg *element) {
	n := r.cfg.HistoryLength
	if n > s.cfg.MaxHistory {
		n = s.cfg.MaxHistory
	}
	if n <= 0 {
		r.history = nil
		return
	}
	r.history = append(r.history, historyItem{msg: msg, at: s.now(), chars: len(msg.String())})
	if len(r.history) > n {
		r.history = append(r.history[:0:0], r.history[len(r.history)-n:]...)
	}
}

// sendHistory sends what the joiner's <history/> asks for: the newest
// messages within maxstanzas, maxchars, seconds and since, oldest first.
func (s *Service) sendHistory(r *room, o *occupant, x *element) {
	maxStanzas, maxChars := len(r.history), -1
	var since time.Time
	if x != nil {
		if h := x.child("", "history"); h != nil {
			if v, err := strconv.Atoi(h.attr("maxstanzas")); err == nil && v >= 0 && v < maxStanzas {
				maxStanzas = v
			}
			if v, err := strconv.Atoi(h.attr("maxchars")); err == nil && v >= 0 {
				maxChars = v
			}
			if v, err := strconv.Atoi(h.attr("seconds")); err == nil && v >= 0 {
				since = s.now().Add(-time.Duration(v) * time.Second)
			}
			if t, err := time.Parse(time.RFC3339Nano, h.attr("since")); err == nil && t.After(since) {
				since = t
			}
		}
	}
	start, chars := len(r.history), 0
	for i := len(r.history) - 1; i >= 0 && len(r.history)-i <= maxStanzas; i-- {
		h := r.history[i]
		if !since.IsZero() && h.at.Before(since) {
			break
		}
		if maxChars >= 0 && chars+h.chars > maxChars {
			break
		}
		chars += h.chars
		start = i
	}
	for _, h := range r.history[start:] {
		m := h.msg.clone()
		m.setAttr("to", o.jid.String())
		m.add(newElem(nsDelay, "delay", "from", r.bare, "stamp", h.at.UTC().Format("2006-01-02T15:04:05.000Z")))
		s.send(m)
	}
}

// sendSubject sends the current subject, always, since clients treat it as
// the end of the join sequence (XEP-0045 7.2.16).
func (s *Service) sendSubject(r *room, o *occupant) {
	from := r.bare
	if r.subjectBy != "" {
		from = r.bare + "/" + r.subjectBy
	}
	m := newElem(nsClient, "message", "from", from, "to", o.jid.String(), "type", "groupchat", "id", newID())
	m.add(newElem(nsClient, "subject").withText(r.subject))
	s.send(m)
}
