// Package muc is the chat face of a CUSAX room (RFC 7081 section 4): an XMPP
// Multi-User Chat service (XEP-0045) attached to an existing XMPP server as
// an external component (XEP-0114). It knows nothing of SIP; it only
// advertises each room's audio conference in the room's disco#info, through
// the XEP-0128 muc#roominfo field audio-video-uri = sip:<room>@<sip-domain>.
//
// What it implements:
//   - the component link, reconnected with capped exponential backoff and
//     jitter; Ready reports it for /readyz; Shutdown sends status 332;
//   - XEP-0045 rooms: disco, entering (110, 100, 201, 210), presence
//     broadcast, nick changes (303), the 401/403/407/409/503 refusals,
//     groupchat with echo, history and subject, private messages, mediated
//     invitations, voice requests, roles, affiliations and their lists, kick
//     (307), ban (301), members-only removal (321), the muc#roomconfig form
//     and destruction;
//   - XEP-0359 stanza-ids, XEP-0421 occupant-ids, XEP-0410 self-ping, IQs
//     relayed between occupants (vCard avatars, version, ping) and the
//     PRECIS nickname profile (RFC 8266) for nicks;
//   - persistence of persistent rooms and affiliations through a Store;
//   - the sync API: Config.OnEvent receives every change, and commands
//     (SetRole, Kick, AddAudioOccupant, UpdateAudioOccupant,
//     RemoveAudioOccupant, SendMessage, SendPrivateMessage) act as the room.
//     Audio-only occupants carry <phone xmlns='urn:cusax:bridge:0'/>.
//
// Design notes: docs/design/05_muc.md.
package muc
