package confinfo

import (
	"fmt"
	"testing"
)

// benchState is a conference of n phone participants.
func benchState(b *testing.B, n int) *State {
	b.Helper()
	s := NewState(Config{Entity: confURI})
	s.SetDescription(NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test")))
	s.SetActive(true)
	for i := range n {
		err := s.AddUser(AudioUser(fmt.Sprintf("sip:user%04d@example.test", i), fmt.Sprintf("User %d", i), Leg{
			Entity: fmt.Sprintf("sip:user%04d@192.0.2.%d:5060", i, i%250), Status: StatusConnected,
			Joining: JoinDialedIn, MediaStatus: MediaSendRecv, SrcID: fmt.Sprint(100000 + i),
			CallID: fmt.Sprintf("call-%d@example.test", i), FromTag: "from", ToTag: "to",
		}))
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkPartial: one change (a participant muted) in a 100-user
// conference, then the partial document built and encoded, as a focus does
// for each NOTIFY.
func BenchmarkPartial(b *testing.B) {
	for _, n := range []int{100} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s := benchState(b, n)
			statuses := [2]EndpointStatus{StatusMutedViaFocus, StatusConnected}
			var size int
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := i % n
				v := s.Version()
				if err := s.UpdateEndpoint(fmt.Sprintf("sip:user%04d@example.test", k), fmt.Sprintf("sip:user%04d@192.0.2.%d:5060", k, k%250),
					func(e *Endpoint) { e.Status = statuses[(i/n)%2] }); err != nil {
					b.Fatal(err)
				}
				doc, err := s.Partial(v)
				if err != nil {
					b.Fatal(err)
				}
				out, err := Encode(doc)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size), "bytes/doc")
		})
	}
}

// BenchmarkFull: the full document of a 1,000-user conference built and
// encoded, as for a new subscription.
func BenchmarkFull(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s := benchState(b, n)
			var size int
			b.ReportAllocs()
			for b.Loop() {
				out, err := Encode(s.Full())
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size), "bytes/doc")
		})
	}
}

// BenchmarkDecode: a watcher decoding the full document of a 1,000-user
// conference.
func BenchmarkDecode(b *testing.B) {
	out, err := Encode(benchState(b, 1000).Full())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("users=1000", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(out)))
		for b.Loop() {
			if _, err := Decode(out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
