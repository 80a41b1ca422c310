package mixer

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// SRTP suites a leg can use (RFC 4568 names, as in an SDP a=crypto line).
const (
	SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
)

// SRTPKeys turn a socket leg's RTP and RTCP into SRTP and SRTCP (RFC 3711):
// what the signalling negotiated (SDES, RFC 4568). Each key is the master
// key followed by the master salt (30 bytes for the AES-128 suites).
type SRTPKeys struct {
	Suite string
	// Local encrypts what the leg sends; Remote decrypts what it receives.
	Local, Remote []byte
}

// srtpState is a leg's two SRTP contexts and their buffers.
type srtpState struct {
	keys        SRTPKeys
	in, out     *srtp.Context
	plain, wire [maxDatagram]byte
	rtcp        [maxDatagram]byte // SRTCP in or out, apart from RTP's
	// hdr is handed to pion so it parses each header into the same place.
	inHdr, outHdr rtp.Header
}

func suiteProfile(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case SuiteAES128SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case SuiteAES128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, fmt.Errorf("mixer: SRTP suite %q is not supported; want %s or %s", suite, SuiteAES128SHA1_80, SuiteAES128SHA1_32)
}

// newSRTP builds the contexts for keys; it checks the suite and the key
// lengths, so a bad key is refused before the call is answered.
func newSRTP(k *SRTPKeys) (*srtpState, error) {
	p, err := suiteProfile(k.Suite)
	if err != nil {
		return nil, err
	}
	kl, _ := p.KeyLen()
	sl, _ := p.SaltLen()
	ctx := func(which string, key []byte) (*srtp.Context, error) {
		if len(key) != kl+sl {
			return nil, fmt.Errorf("mixer: %s SRTP key of %s is %d bytes, want %d (key and salt)", which, k.Suite, len(key), kl+sl)
		}
		c, err := srtp.CreateContext(key[:kl], key[kl:], p)
		if err != nil {
			return nil, fmt.Errorf("mixer: %s SRTP key: %w", which, err)
		}
		return c, nil
	}
	s := &srtpState{keys: SRTPKeys{Suite: k.Suite, Local: slices.Clone(k.Local), Remote: slices.Clone(k.Remote)}}
	if s.in, err = ctx("remote", k.Remote); err != nil {
		return nil, err
	}
	if s.out, err = ctx("local", k.Local); err != nil {
		return nil, err
	}
	return s, nil
}

// Encrypted reports whether the leg's media is SRTP (or DTLS-SRTP: a packet
// leg's owner encrypts).
func (l *Leg) Encrypted() bool { return l.srtp != nil || l.tx != nil }

// unprotect authenticates and decrypts one received SRTP packet; nil means
// it failed and was counted.
func (l *Leg) unprotect(b []byte) []byte {
	out, err := l.srtp.in.DecryptRTP(l.srtp.plain[:0], b, &l.srtp.inHdr)
	if err != nil {
		l.m.met.dropped[dropSRTP].Inc()
		return nil
	}
	return out
}

// protect encrypts one packet to send; nil when it cannot (not sent).
func (l *Leg) protect(b []byte) []byte {
	out, err := l.srtp.out.EncryptRTP(l.srtp.wire[:0], b, &l.srtp.outHdr)
	if err != nil {
		return nil
	}
	return out
}

// same reports whether k are the keys s was made from.
func (s *srtpState) same(k *SRTPKeys) bool {
	return k != nil && s.keys.Suite == k.Suite && bytes.Equal(s.keys.Local, k.Local) && bytes.Equal(s.keys.Remote, k.Remote)
}

// applySRTP installs the keys of an update (a re-INVITE may rekey): new
// keys make new contexts, none turn SRTP off. Bad keys keep the old ones;
// the signalling refused them before they came here.
func (l *Leg) applySRTP(k *SRTPKeys) {
	switch {
	case k == nil:
		l.srtp = nil
	case l.srtp == nil || !l.srtp.same(k):
		s, err := newSRTP(k)
		if err != nil {
			l.m.log.Warn("leg SRTP rekey failed", "leg", l.id, "err", err)
			return
		}
		l.srtp = s
	}
}

// unprotectRTCP authenticates and decrypts one received SRTCP packet.
func (l *Leg) unprotectRTCP(b []byte) []byte {
	out, err := l.srtp.in.DecryptRTCP(l.srtp.rtcp[:0], b, nil)
	if err != nil {
		l.m.met.dropped[dropSRTP].Inc()
		return nil
	}
	return out
}

// protectRTCP encrypts one RTCP packet to send.
func (l *Leg) protectRTCP(b []byte) []byte {
	out, err := l.srtp.out.EncryptRTCP(l.srtp.rtcp[:0], b, nil)
	if err != nil {
		return nil
	}
	return out
}
