package muc_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/store/bolt"
)

// Running the chat face on its own: persistent rooms in a bbolt file, events
// logged, and a clean 332 to every occupant on Ctrl-C.
func Example() {
	st, err := bolt.Open(bolt.Config{Path: "/var/lib/bridge/bridge.db"})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	svc, err := muc.New(muc.Config{
		ComponentAddr: "127.0.0.1:5347",
		Domain:        "conference.example.test",
		Secret:        "s3cret",
		SIPDomain:     "example.test", // disco#info: audio-video-uri = sip:<room>@example.test
		Store:         st,
		OnEvent: func(e muc.Event) {
			slog.Info("room event", "kind", e.Kind, "room", e.Room, "nick", e.Nick)
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		svc.Shutdown(context.Background())
	}()
	if err := svc.Serve(context.Background()); err != nil {
		panic(err)
	}
}
