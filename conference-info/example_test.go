package confinfo_test

import (
	"fmt"

	confinfo "cusax.dev/bridge/conference-info"
)

// A focus keeps one State per room and one Subscription per SUBSCRIBE
// dialog; every NOTIFY body is Encode(State.Next(&sub)).
func Example() {
	room := confinfo.NewState(confinfo.Config{Entity: "sip:standup@example.test"})
	room.SetDescription(confinfo.NewDescription("Standup",
		"sip:standup@example.test", confinfo.ChatURI("standup", "muc.example.test")))
	room.SetActive(true)

	var sub confinfo.Subscription // a watcher subscribes
	doc, _ := room.Next(&sub)     // full document, version 1
	body, _ := confinfo.Encode(doc)
	fmt.Printf("%s\n\n", body)

	// A phone dials in; a chat-only occupant is listed without endpoint.
	room.AddUser(confinfo.AudioUser("sip:alice@example.test", "Alice", confinfo.Leg{
		Entity: "sip:alice@192.0.2.10", Status: confinfo.StatusConnected,
		Joining: confinfo.JoinDialedIn, MediaStatus: confinfo.MediaSendRecv,
	}))
	room.AddUser(confinfo.ChatUser("xmpp:bob@example.test", "Bob"))
	// A moderator revokes Alice's voice.
	room.UpdateEndpoint("sip:alice@example.test", "sip:alice@192.0.2.10", func(e *confinfo.Endpoint) {
		e.Status = confinfo.StatusMutedViaFocus
		e.Media[0].Status = confinfo.MediaRecvOnly
	})

	doc, _ = room.Next(&sub) // one partial document with all three changes, version 2
	body, _ = confinfo.Encode(doc)
	fmt.Printf("%s\n", body)
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:standup@example.test" state="full" version="1"><conference-description><display-text>Standup</display-text><conf-uris><entry><uri>sip:standup@example.test</uri><purpose>participation</purpose></entry></conf-uris><service-uris><entry><uri>xmpp:standup@muc.example.test?join</uri><purpose>grouptextchat</purpose></entry></service-uris></conference-description><conference-state><user-count>0</user-count><active>true</active></conference-state><users></users></conference-info>
	//
	// <?xml version="1.0" encoding="UTF-8"?>
	// <conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:standup@example.test" state="partial" version="2"><conference-state><user-count>2</user-count></conference-state><users state="partial"><user entity="sip:alice@example.test" state="full"><display-text>Alice</display-text><endpoint entity="sip:alice@192.0.2.10"><status>muted-via-focus</status><joining-method>dialed-in</joining-method><media id="1"><type>audio</type><status>recvonly</status></media></endpoint></user><user entity="xmpp:bob@example.test" state="full"><display-text>Bob</display-text></user></users></conference-info>
}
