package mixer_test

import (
	"fmt"
	"log"
	"net/netip"

	"cusax.dev/bridge/mixer"
)

// A focus puts each answered call into its room, then drives it with the
// per-leg controls.
func Example() {
	m, err := mixer.New(mixer.Config{
		BindAddr: netip.MustParseAddr("127.0.0.1"),
		PortMin:  44000, PortMax: 44999,
		OnEvent: func(ev mixer.Event) {
			if ev.Kind == mixer.EventDTMF {
				log.Printf("leg %d pressed %c", ev.LegID, ev.Digit)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	leg, err := m.AddLeg(mixer.LegConfig{
		Room:           "standup",
		Codec:          mixer.CodecSpec{Name: "PCMU", PayloadType: 0, ClockRate: 8000},
		TelephoneEvent: 101,
		Remote:         netip.MustParseAddrPort("127.0.0.1:40000"), // from the SDP offer
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(leg.Room(), leg.LocalAddr().Addr()) // the answer's c= line
	leg.SetMuted(true)                              // e.g. MUC voice revoked
	leg.Close()
	// Output: standup 127.0.0.1
}
