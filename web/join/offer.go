package join

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// checkOffer reads what the join needs from a browser's SDP offer before
// anything is spent on it: the offer must parse and have an audio section
// offering Opus at 48 kHz. It returns Opus's payload type there, which the
// browser's packets will carry.
func checkOffer(body []byte) (uint8, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, errors.New("the offer is empty; want an SDP offer")
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return 0, fmt.Errorf("the offer is not valid SDP: %w", err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, codec, ok := strings.Cut(a.Value, " ")
			if !ok {
				continue
			}
			name, rate, _ := strings.Cut(codec, "/")
			if !strings.EqualFold(name, "opus") || !strings.HasPrefix(rate, "48000") {
				continue
			}
			n, err := strconv.ParseUint(pt, 10, 8)
			if err != nil || n > 127 {
				return 0, fmt.Errorf("the offer's Opus payload type %q is not 0-127", pt)
			}
			if !offersFormat(m, pt) {
				continue
			}
			return uint8(n), nil
		}
	}
	return 0, errNoOpus
}

// offersFormat says whether the m= line lists the payload type (an rtpmap
// for a format the line does not offer means nothing).
func offersFormat(m *sdp.MediaDescription, pt string) bool {
	for _, f := range m.MediaName.Formats {
		if f == pt {
			return true
		}
	}
	return false
}
