// Package mixer is the bridge's real-time audio conference mixer: RTP (RFC
// 3550) legs grouped into rooms, each room mixed on its own 20 ms clock so that
// every participant hears the saturating sum of the others (N-1) and never
// themselves.
//
// It speaks PCMU, PCMA and G.722 (RFC 3551) and Opus (RFC 7587) through
// mixer/codec, mixes at 16 kHz, puts packets in order with an adaptive jitter
// buffer (mixer/jitter), latches to where media really comes from (symmetric
// RTP, RFC 4961), decodes RFC 4733 telephone events into DTMF digits, sends
// and reads RTCP sender and receiver reports and BYE, detects talkers and the
// room's dominant speaker, and reports RTP timeouts.
//
// The mixer knows nothing of SIP: the caller (focus) negotiates codecs and
// addresses and drives legs through AddLeg, Leg.Update and the per-leg
// controls. Rooms are spread over a small pool of workers; the hot path
// (receive, decode, mix, encode, send) allocates nothing in steady state. A
// room's legs share RTP ports (Config.LegsPerPort), told apart by their
// peers' addresses and read and sent a port at a time with recvmmsg and
// sendmmsg; a leg behind a NAT (LegConfig.BehindNAT) keeps a port of its
// own, where it can latch. See docs/design/03_mixer.md for the scheduling
// and docs/design/15_capacity.md for the ports.
package mixer
