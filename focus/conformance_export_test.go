package focus

import (
	"bytes"
	"net"
	"time"
)

// FrameStream runs data through the TCP/TLS framing as if one peer had
// sent it and closed: it returns what sipgo would read, one message or
// keep-alive run a chunk, and what the focus wrote back on the connection.
func FrameStream(f *Focus, data []byte) (chunks [][]byte, written []byte) {
	peer := &bufferConn{in: bytes.NewReader(data)}
	c := &streamConn{Conn: peer, f: f, answered: make(chan struct{}, 1)}
	for !c.ending {
		c.out = nil
		if err := c.frameNext(); err != nil {
			break
		}
		if len(c.out) > 0 {
			chunks = append(chunks, c.out)
		}
	}
	return chunks, peer.out.Bytes()
}

// bufferConn is a connection whose peer sent a fixed byte string.
type bufferConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (b *bufferConn) Read(p []byte) (int, error)  { return b.in.Read(p) }
func (b *bufferConn) Write(p []byte) (int, error) { return b.out.Write(p) }
func (b *bufferConn) Close() error                { return nil }
func (b *bufferConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
}
func (b *bufferConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5061}
}
func (b *bufferConn) SetDeadline(time.Time) error      { return nil }
func (b *bufferConn) SetReadDeadline(time.Time) error  { return nil }
func (b *bufferConn) SetWriteDeadline(time.Time) error { return nil }
