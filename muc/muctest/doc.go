// Package muctest holds the helpers integration tests share for the chat
// face: a real Prosody started in a temp dir with one or more external
// component domains (XEP-0114), users registered with prosodyctl, and real
// slixmpp clients (through /usr/bin/python3) driven line by line from Go.
// Other packages (sync, bench) import it instead of copying it.
//
// Everything stays on 127.0.0.1: Prosody has s2s disabled and the slixmpp
// driver never resolves a name.
package muctest
