package focus

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Direction is an RFC 3264 media direction attribute.
type Direction string

// The four directions of RFC 3264 section 5.1.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// answer returns the direction an answerer uses for an offered one
// (RFC 3264 section 6.1).
func (d Direction) answer() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// held reports whether the peer stopped sending to us: RFC 3264 section 8.4
// hold is sendonly or inactive from the holder's side.
func (d Direction) held() bool { return d == SendOnly || d == Inactive }

// Warning codes of RFC 3261 section 20.43 used in 488 answers.
const (
	warnNetworkProtocol = 300
	warnAddressFormat   = 301
	warnTransport       = 302
	warnMediaType       = 304
	warnMediaFormat     = 305
	warnMisc            = 399
)

// sdpError is an offer the focus cannot accept: it becomes a 488 with a
// Warning header naming what is supported.
type sdpError struct {
	Warning int
	Text    string
}

func (e *sdpError) Error() string { return fmt.Sprintf("SDP rejected (%d): %s", e.Warning, e.Text) }

// Limits on what an offer may carry, so a hostile body costs little.
const (
	maxSDPSize     = 16 << 10
	maxMediaLines  = 16
	maxFormatsLine = 64
)

// negotiated is the outcome of an offer/answer exchange for the one audio
// stream the focus accepts.
type negotiated struct {
	Codec          Codec
	TelephoneEvent uint8
	Remote         netip.AddrPort // zero when the peer gave 0.0.0.0 or no address
	Direction      Direction      // the peer's direction as offered
	audioIndex     int            // which m= line is the accepted audio stream
	// Crypto is the peer's SDES line of an RTP/SAVP stream (nil: plain
	// RTP) and LocalKey the focus's own key for it.
	Crypto   *sdesCrypto
	LocalKey []byte
}

// parseSDP unmarshals an SDP body, turning a parser panic into an error so
// that no body, however broken, can take the focus down.
func parseSDP(body []byte) (sd *sdp.SessionDescription, err error) {
	if len(body) == 0 {
		return nil, &sdpError{warnMisc, "empty SDP body"}
	}
	if len(body) > maxSDPSize {
		return nil, &sdpError{warnMisc, fmt.Sprintf("SDP body of %d bytes is larger than %d", len(body), maxSDPSize)}
	}
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, &sdpError{warnMisc, fmt.Sprintf("malformed SDP: parser failed: %v", r)}
		}
	}()
	sd = &sdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		return nil, &sdpError{warnMisc, fmt.Sprintf("malformed SDP: %v", err)}
	}
	if len(sd.MediaDescriptions) > maxMediaLines {
		return nil, &sdpError{warnMisc, fmt.Sprintf("SDP has %d media lines, at most %d are accepted", len(sd.MediaDescriptions), maxMediaLines)}
	}
	return sd, nil
}

// offeredCodec is one payload type an m= line offers.
type offeredCodec struct {
	PT        uint8
	Name      string
	ClockRate uint32
	Channels  int
}

// staticPT names the static RTP/AVP payload types of RFC 3551 the focus knows.
var staticPT = map[uint8]offeredCodec{
	0: {PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
	8: {PT: 8, Name: "PCMA", ClockRate: 8000, Channels: 1},
	9: {PT: 9, Name: "G722", ClockRate: 8000, Channels: 1},
}

// mediaCodecs lists the payload types of one m= line with their rtpmap,
// skipping anything that is not a valid RTP payload type.
func mediaCodecs(md *sdp.MediaDescription) []offeredCodec {
	rtpmap := map[uint8]offeredCodec{}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptStr, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		pt, err := strconv.ParseUint(strings.TrimSpace(ptStr), 10, 8)
		if err != nil || pt > 127 {
			continue
		}
		parts := strings.Split(strings.TrimSpace(enc), "/")
		if len(parts) < 2 {
			continue
		}
		rate, err := strconv.ParseUint(parts[1], 10, 32)
		if err != nil || rate == 0 {
			continue
		}
		ch := 1
		if len(parts) > 2 {
			c, err := strconv.Atoi(parts[2])
			if err != nil || c < 1 || c > 8 {
				continue
			}
			ch = c
		}
		rtpmap[uint8(pt)] = offeredCodec{PT: uint8(pt), Name: parts[0], ClockRate: uint32(rate), Channels: ch}
	}
	var out []offeredCodec
	for i, f := range md.MediaName.Formats {
		if i >= maxFormatsLine {
			break
		}
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil || pt > 127 {
			continue // RTP payload types are 7 bits (RFC 3550 section 5.1)
		}
		if c, ok := rtpmap[uint8(pt)]; ok {
			out = append(out, c)
		} else if c, ok := staticPT[uint8(pt)]; ok {
			out = append(out, c)
		}
	}
	return out
}

// direction finds the direction attribute of a media line, falling back to
// the session level and then sendrecv (RFC 3264 section 5.1).
func direction(sd *sdp.SessionDescription, md *sdp.MediaDescription) Direction {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			switch Direction(a.Key) {
			case SendRecv, SendOnly, RecvOnly, Inactive:
				return Direction(a.Key)
			}
		}
	}
	return SendRecv
}

// connection returns the c= line that applies to a media line.
func connection(sd *sdp.SessionDescription, md *sdp.MediaDescription) *sdp.ConnectionInformation {
	if md.ConnectionInformation != nil {
		return md.ConnectionInformation
	}
	return sd.ConnectionInformation
}

// isAudioRTP reports whether an m= line is RTP/AVP or RTP/SAVP (SDES-SRTP)
// audio, the kinds the mixer takes.
func isAudioRTP(md *sdp.MediaDescription) bool {
	if !strings.EqualFold(md.MediaName.Media, "audio") {
		return false
	}
	proto := strings.Join(md.MediaName.Protos, "/")
	return strings.EqualFold(proto, "RTP/AVP") || isSAVP(md)
}

func isSAVP(md *sdp.MediaDescription) bool {
	return strings.EqualFold(strings.Join(md.MediaName.Protos, "/"), "RTP/SAVP")
}

// negotiate picks the audio stream, codec and telephone-event payload type
// for an offer, given the codecs the media engine supports in order of
// preference and the address family the focus's RTP uses.
func negotiate(sd *sdp.SessionDescription, supported []Codec, local netip.Addr) (negotiated, error) {
	var (
		sawAudio, sawAVP, sawFamily bool
		firstErr                    *sdpError
	)
	for i, md := range sd.MediaDescriptions {
		if !strings.EqualFold(md.MediaName.Media, "audio") || md.MediaName.Port.Value == 0 {
			continue
		}
		sawAudio = true
		if !isAudioRTP(md) {
			continue
		}
		sawAVP = true
		port := md.MediaName.Port.Value
		if port < 0 || port > 65535 {
			if firstErr == nil {
				firstErr = &sdpError{warnMisc, fmt.Sprintf("audio port %d is outside 1-65535", port)}
			}
			continue
		}
		remote, err := remoteAddr(connection(sd, md), port, local)
		if err != nil {
			var se *sdpError
			if errors.As(err, &se) && firstErr == nil {
				firstErr = se
			}
			continue
		}
		sawFamily = true
		n := negotiated{Direction: direction(sd, md), Remote: remote, audioIndex: i}
		if isSAVP(md) {
			c, serr := chooseCrypto(md)
			if serr != nil {
				if firstErr == nil {
					firstErr = serr
				}
				continue
			}
			n.Crypto = c
		}
		offered := mediaCodecs(md)
		found := false
		for _, want := range supported {
			for _, o := range offered {
				if codecMatches(want, o) {
					n.Codec = Codec{Name: want.Name, PayloadType: o.PT, ClockRate: want.ClockRate, Channels: want.Channels}
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			if firstErr == nil {
				firstErr = &sdpError{warnMediaFormat, "incompatible media format: supported " + codecList(supported)}
			}
			continue
		}
		for _, o := range offered {
			if strings.EqualFold(o.Name, "telephone-event") && o.ClockRate == n.Codec.ClockRate {
				n.TelephoneEvent = o.PT
				break
			}
		}
		return n, nil
	}
	switch {
	case firstErr != nil && (sawFamily || firstErr.Warning != warnMediaFormat):
		return negotiated{}, firstErr
	case !sawAudio:
		return negotiated{}, &sdpError{warnMediaType, "media type not available: only audio (RTP/AVP or RTP/SAVP: " + codecList(supported) + ") is supported"}
	case !sawAVP:
		return negotiated{}, &sdpError{warnTransport, "incompatible transport protocol: only RTP/AVP and RTP/SAVP (SDES) are supported"}
	}
	return negotiated{}, &sdpError{warnMisc, "no acceptable audio stream"}
}

// remoteAddr turns a c= line and port into the address to send RTP to. A
// 0.0.0.0 address (RFC 2543 hold) gives the zero AddrPort.
func remoteAddr(c *sdp.ConnectionInformation, port int, local netip.Addr) (netip.AddrPort, error) {
	if c == nil || c.Address == nil {
		return netip.AddrPort{}, &sdpError{warnMisc, "no c= line for the audio stream"}
	}
	if !strings.EqualFold(c.NetworkType, "IN") {
		return netip.AddrPort{}, &sdpError{warnNetworkProtocol, fmt.Sprintf("incompatible network protocol %q: only IN is supported", c.NetworkType)}
	}
	ip, err := netip.ParseAddr(c.Address.Address)
	if err != nil {
		return netip.AddrPort{}, &sdpError{warnAddressFormat, fmt.Sprintf("connection address %q is not an IP literal", c.Address.Address)}
	}
	ip = ip.Unmap()
	want := "IP4"
	if local.Is6() && !local.Is4In6() {
		want = "IP6"
	}
	got := "IP4"
	if ip.Is6() {
		got = "IP6"
	}
	if !strings.EqualFold(c.AddressType, got) || got != want {
		return netip.AddrPort{}, &sdpError{warnAddressFormat, fmt.Sprintf("incompatible network address format %s %s: this focus uses %s", c.AddressType, ip, want)}
	}
	if ip.IsUnspecified() {
		return netip.AddrPort{}, nil
	}
	if ip.IsMulticast() {
		return netip.AddrPort{}, &sdpError{warnAddressFormat, "multicast connection address " + ip.String() + " is not supported"}
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

func codecMatches(want Codec, o offeredCodec) bool {
	if !strings.EqualFold(want.Name, o.Name) || want.ClockRate != o.ClockRate {
		return false
	}
	if strings.EqualFold(want.Name, "opus") {
		return o.Channels == 2 // RFC 7587 section 7: always opus/48000/2
	}
	return true
}

func codecList(cs []Codec) string {
	names := make([]string, 0, len(cs)+1)
	for _, c := range cs {
		names = append(names, c.Name)
	}
	names = append(names, "telephone-event")
	return strings.Join(names, ", ")
}

// sdpOrigin is what the focus puts in o= lines; Version grows with every
// new description the focus sends in a dialog (RFC 3264 section 8).
type sdpOrigin struct {
	SessionID uint64
	Version   uint64
}

func (o sdpOrigin) line(local netip.Addr) sdp.Origin {
	return sdp.Origin{Username: "cusax", SessionID: o.SessionID, SessionVersion: o.Version,
		NetworkType: "IN", AddressType: addrType(local), UnicastAddress: local.String()}
}

func addrType(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "IP6"
	}
	return "IP4"
}

// buildAnswer builds the answer to an offer: one m= line per offered one, in
// order (RFC 3264 section 6), the negotiated audio stream accepted and every
// other stream declined with port 0.
func buildAnswer(offer *sdp.SessionDescription, n negotiated, local netip.AddrPort, o sdpOrigin) ([]byte, error) {
	ans := newDescription(local.Addr(), o)
	for i, md := range offer.MediaDescriptions {
		if i != n.audioIndex {
			formats := md.MediaName.Formats
			if len(formats) > 1 {
				formats = formats[:1]
			}
			if len(formats) == 0 {
				formats = []string{"0"}
			}
			ans.MediaDescriptions = append(ans.MediaDescriptions, &sdp.MediaDescription{
				MediaName: sdp.MediaName{Media: md.MediaName.Media, Port: sdp.RangedPort{Value: 0},
					Protos: md.MediaName.Protos, Formats: formats},
			})
			continue
		}
		md := audioMedia(local.Port(), []Codec{n.Codec}, n.TelephoneEvent, n.Direction.answer())
		if n.Crypto != nil {
			withCrypto(md, n.Crypto, n.LocalKey)
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, md)
	}
	return ans.Marshal()
}

// buildOffer builds the focus's own offer, for an offerless INVITE and for
// dial-out: every supported codec plus telephone-event.
func buildOffer(supported []Codec, local netip.AddrPort, o sdpOrigin, dir Direction) ([]byte, error) {
	off := newDescription(local.Addr(), o)
	off.MediaDescriptions = append(off.MediaDescriptions, audioMedia(local.Port(), supported, offerTelephoneEvent, dir))
	return off.Marshal()
}

// offerTelephoneEvent is the payload type the focus offers for RFC 4733
// events at 8 kHz.
const offerTelephoneEvent = 101

func newDescription(local netip.Addr, o sdpOrigin) *sdp.SessionDescription {
	return &sdp.SessionDescription{
		Origin:      o.line(local),
		SessionName: "cusax",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType(local),
			Address: &sdp.Address{Address: local.String()}},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
}

func audioMedia(port uint16, codecs []Codec, te uint8, dir Direction) *sdp.MediaDescription {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: int(port)},
		Protos: []string{"RTP", "AVP"}}}
	var rates []uint32
	for _, c := range codecs {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(c.PayloadType)))
		enc := fmt.Sprintf("%s/%d", c.Name, c.ClockRate)
		if c.Channels > 1 {
			enc += "/" + strconv.Itoa(c.Channels)
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", strconv.Itoa(int(c.PayloadType))+" "+enc))
		if !slices.Contains(rates, c.ClockRate) {
			rates = append(rates, c.ClockRate)
		}
	}
	// One telephone-event per clock rate: RFC 4733 section 2.1 ties the
	// event clock to the audio codec's.
	for i, rate := range rates {
		if te == 0 || int(te)+i > 127 {
			break
		}
		pt := strconv.Itoa(int(te) + i)
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes,
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%s telephone-event/%d", pt, rate)),
			sdp.NewAttribute("fmtp", pt+" 0-16"))
	}
	md.Attributes = append(md.Attributes, sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(string(dir)))
	return md
}

// parseAnswer reads the answer to an offer the focus made and checks it
// chose one of the offered codecs.
func parseAnswer(body []byte, offered []Codec, local netip.Addr) (negotiated, error) {
	sd, err := parseSDP(body)
	if err != nil {
		return negotiated{}, err
	}
	// The answerer uses our payload numbers; negotiate against what we offered.
	return negotiate(sd, offered, local)
}
