package muctest

import "net"

type heldPort struct {
	l    net.Listener
	port int
}

func (h heldPort) close() { h.l.Close() }

// listenLoopback holds a free loopback port until close, so two ports picked
// together differ.
func listenLoopback() (heldPort, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return heldPort{}, err
	}
	return heldPort{l: l, port: l.Addr().(*net.TCPAddr).Port}, nil
}
