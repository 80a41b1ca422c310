package focus

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

// SDES-SRTP (RFC 4568): a phone that offers RTP/SAVP puts its SRTP master
// key in an a=crypto line and the answer carries the focus's own. Keys in
// SDP are only as secret as the signalling, so the focus takes them only
// over TLS: an SDES offer that came over UDP or TCP in the clear is refused
// with 488 (it would be no protection, only the look of it).

// SRTP suites the focus offers and accepts, in order of preference.
const (
	SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
)

// sdesKeyLen is the master key and salt of the AES-128 suites (16 + 14).
const sdesKeyLen = 30

// Media security of a leg, as LegInfo and CallFacts name it.
const (
	MediaPlain = "rtp"  // plain RTP
	MediaSRTP  = "srtp" // SDES-SRTP
)

// Encryption policies (Config.MediaEncryption, --media-encryption).
const (
	EncryptionOptional = "optional" // SRTP over TLS when the phone offers it, plain RTP otherwise
	EncryptionRequired = "required" // plain RTP refused with 488
	EncryptionOff      = "off"      // SRTP offers refused with 488
)

// SRTPKeys are a leg's negotiated SRTP keys, master key and salt each; they
// mirror mixer.SRTPKeys.
type SRTPKeys struct {
	Suite         string
	Local, Remote []byte
}

// sdesCrypto is one a=crypto line: tag, suite and the key it carries.
type sdesCrypto struct {
	Tag   string
	Suite string
	Key   []byte
}

// parseCrypto reads an a=crypto value: "<tag> <suite> inline:<key||salt
// base64>[|lifetime][|MKI:length] [session params]".
func parseCrypto(v string) (sdesCrypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return sdesCrypto{}, fmt.Errorf("a=crypto %q: want a tag, a suite and key parameters", v)
	}
	c := sdesCrypto{Tag: f[0], Suite: f[1]}
	for _, r := range f[0] {
		if r < '0' || r > '9' {
			return sdesCrypto{}, fmt.Errorf("a=crypto tag %q is not a number", f[0])
		}
	}
	if len(f[0]) > 9 {
		return sdesCrypto{}, fmt.Errorf("a=crypto tag %q is too long", f[0])
	}
	params := strings.Split(f[2], ";")
	if len(params) != 1 {
		return sdesCrypto{}, fmt.Errorf("a=crypto with %d keys: one key per line is supported", len(params))
	}
	method, info, ok := strings.Cut(params[0], ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return sdesCrypto{}, fmt.Errorf("a=crypto key method %q: only inline is defined", method)
	}
	keySalt, rest, _ := strings.Cut(info, "|")
	if rest != "" && strings.Contains(rest, ":") && !strings.Contains(rest, "|") {
		// An MKI ("1:4") with no lifetime: the focus sends no MKI.
		return sdesCrypto{}, fmt.Errorf("a=crypto with an MKI is not supported")
	}
	key, err := base64.StdEncoding.DecodeString(keySalt)
	if err != nil {
		return sdesCrypto{}, fmt.Errorf("a=crypto key is not base64: %w", err)
	}
	c.Key = key
	return c, nil
}

// chooseCrypto picks the first a=crypto line of an RTP/SAVP stream with a
// suite the focus speaks and a key of the suite's length.
func chooseCrypto(md *sdp.MediaDescription) (*sdesCrypto, *sdpError) {
	var lastErr string
	for _, a := range md.Attributes {
		if a.Key != "crypto" {
			continue
		}
		c, err := parseCrypto(a.Value)
		if err != nil {
			lastErr = err.Error()
			continue
		}
		if c.Suite != SuiteAES128SHA1_80 && c.Suite != SuiteAES128SHA1_32 {
			lastErr = fmt.Sprintf("SRTP suite %s is not supported", c.Suite)
			continue
		}
		if len(c.Key) != sdesKeyLen {
			lastErr = fmt.Sprintf("a=crypto key of %s is %d bytes, want %d (key and salt)", c.Suite, len(c.Key), sdesKeyLen)
			continue
		}
		return &c, nil
	}
	if lastErr == "" {
		lastErr = "RTP/SAVP without an a=crypto line"
	}
	return nil, &sdpError{warnTransport, "incompatible SRTP: " + lastErr + "; supported " + SuiteAES128SHA1_80 + ", " + SuiteAES128SHA1_32 + " with inline keys"}
}

func newSDESKey() []byte {
	k := make([]byte, sdesKeyLen)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// withCrypto makes an answer's audio line RTP/SAVP with the focus's key
// under the offer's tag and suite.
func withCrypto(md *sdp.MediaDescription, offered *sdesCrypto, key []byte) {
	md.MediaName.Protos = []string{"RTP", "SAVP"}
	md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto",
		offered.Tag+" "+offered.Suite+" inline:"+base64.StdEncoding.EncodeToString(key)))
}

// srtpKeys are the media leg's keys for a negotiation, nil for plain RTP.
func (n negotiated) srtpKeys() *SRTPKeys {
	if n.Crypto == nil {
		return nil
	}
	return &SRTPKeys{Suite: n.Crypto.Suite, Local: n.LocalKey, Remote: n.Crypto.Key}
}

// media names the negotiated media security.
func (n negotiated) media() string {
	if n.Crypto != nil {
		return MediaSRTP
	}
	return MediaPlain
}

// checkMediaSecurity applies the node's encryption policy to an INVITE's
// offer and mints the focus's SRTP key for an SDES offer that came over TLS.
func (f *Focus) checkMediaSecurity(c *incomingCall) (int, string, []sip.Header) {
	secure := strings.EqualFold(c.req.Transport(), "TLS")
	srtp := c.offer != nil && c.neg.Crypto != nil
	refuse := func(why, warning string) (int, string, []sip.Header) {
		code, _, hdrs := f.notAcceptable(&sdpError{warnTransport, warning})
		return code, "Not Acceptable Here (" + why + ")", hdrs
	}
	switch {
	case srtp && !secure:
		return refuse("SRTP keys sent in the clear: call over TLS", "SDES-SRTP keys are accepted over TLS only")
	case srtp && f.cfg.MediaEncryption == EncryptionOff:
		return refuse("encrypted media is off on this bridge", "incompatible transport protocol: only RTP/AVP is supported")
	case !srtp && f.cfg.MediaEncryption == EncryptionRequired:
		return refuse("encrypted media required: call over TLS with SRTP", "this bridge requires RTP/SAVP with SDES keys over TLS")
	}
	if srtp {
		c.neg.LocalKey = newSDESKey()
	}
	return 0, "", nil
}

// rekey carries SRTP through a re-offer: the focus keeps its key while the
// suite stays, takes SDES only over TLS, and never lets an encrypted call
// fall back to plain RTP.
func (l *leg) rekey(n *negotiated, prev negotiated) error {
	switch {
	case n.Crypto == nil && prev.Crypto != nil:
		return &sdpError{warnTransport, "an SRTP call cannot fall back to plain RTP"}
	case n.Crypto == nil:
		return nil
	case !l.facts.Secure:
		return &sdpError{warnTransport, "SDES-SRTP keys are accepted over TLS only"}
	case prev.Crypto != nil && prev.Crypto.Suite == n.Crypto.Suite:
		n.LocalKey = prev.LocalKey
	default:
		n.LocalKey = newSDESKey()
	}
	return nil
}
