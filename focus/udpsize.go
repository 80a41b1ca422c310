package focus

import "github.com/emiago/sipgo/sip"

// sipgo refuses to send a UDP message within 200 bytes of a 1500-byte MTU
// and has no fallback to TCP, while a conference-info document for a room
// of three already passes 1300 bytes and watchers (phones, SIPp) commonly
// listen on UDP only. The focus sends such messages as fragmented datagrams
// instead, as most SIP stacks do: the limit becomes the largest UDP
// payload. Set once at program start, before any transport exists.
// See docs/design/04_focus.md.
func init() { sip.UDPMTUSize = 65507 + 200 }
