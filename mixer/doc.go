// Package mixer will hold the real-time RTP audio mixer: RTP/RTCP I/O, jitter
// buffers, codecs, N-1 mixing, mute and talk detection. It knows nothing of SIP.
package mixer
