#!/usr/bin/python3
"""A real slixmpp client driven by muctest over JSON lines.

argv: JID PASSWORD C2S_HOST C2S_PORT

stdin, one JSON object a line:
  {"op": "send", "xml": "<presence .../>"}           raw stanza
  {"op": "join", "id": 1, "room": "r@muc", "nick": "n", "password": "", "maxstanzas": 5}
  {"op": "disco", "id": 2, "jid": "r@muc"}
  {"op": "vcard", "id": 3, "xml": "<vCard xmlns='vcard-temp'>...</vCard>"}   publish own vCard
  {"op": "quit"}
stdout, one JSON object a line:
  {"op": "ready"}  {"op": "recv", "xml": "..."}  {"op": "result", "id": 1, "ok": true, ...}
  {"op": "failed", "error": "..."}  {"op": "disconnected"}

Name resolution is replaced so the client connects to C2S_HOST only.
"""
import asyncio
import json
import logging
import ssl
import sys
import threading

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError

OUT = sys.stdout
sys.stdout = sys.stderr  # slixmpp prints debug output on stdout in places
LOCK = threading.Lock()


def emit(obj):
    with LOCK:
        OUT.write(json.dumps(obj) + "\n")
        OUT.flush()


class Driver(slixmpp.ClientXMPP):
    def __init__(self, jid, password, host, port):
        super().__init__(jid, password)
        self.host, self.port = host, port
        self.online = None  # resolved when the server reflects our presence
        for p in ("xep_0030", "xep_0004", "xep_0045", "xep_0199", "xep_0203"):
            self.register_plugin(p)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", lambda _: emit({"op": "failed", "error": "authentication failed"}))
        self.add_event_handler("disconnected", lambda _: emit({"op": "disconnected"}))
        self.add_filter("in", self.on_in)

    async def get_dns_records(self, domain, port=None):
        # Never resolve: the test server is on a loopback literal.
        return [(self.host, self.host, int(self.port))]

    def on_in(self, stanza):
        if stanza.name in ("message", "presence", "iq"):
            emit({"op": "recv", "xml": str(stanza)})
        if (stanza.name == "presence" and self.online is not None and not self.online.done()
                and stanza["from"] == self.boundjid):
            self.online.set_result(True)
        return stanza

    async def on_start(self, _):
        # Available presence, as every real client sends: without it the
        # server does not deliver messages addressed to the bare JID. Ready
        # only once the server has reflected it to us (RFC 6121 4.2.2):
        # until then a message to the bare JID may find no available
        # session and go to offline storage instead, as a test's invitation
        # sent right after the client started once did on a busy machine.
        self.online = self.loop.create_future()
        self.send_presence()
        try:
            await asyncio.wait_for(self.online, 10)
        except asyncio.TimeoutError:
            pass  # a server that reflects nothing: go on as before
        emit({"op": "ready"})

    async def run_op(self, cmd):
        op = cmd.get("op")
        cid = cmd.get("id")
        try:
            if op == "send":
                self.send_raw(cmd["xml"])
            elif op == "join":
                kw = {"timeout": 20}
                if cmd.get("password"):
                    kw["password"] = cmd["password"]
                if cmd.get("maxstanzas") is not None:
                    kw["maxstanzas"] = cmd["maxstanzas"]
                pres, subject, occupants, history = await self["xep_0045"].join_muc_wait(
                    slixmpp.JID(cmd["room"]), cmd["nick"], **kw)
                emit({"op": "result", "id": cid, "ok": True, "xml": str(pres),
                      "subject": subject["subject"],
                      "occupants": [str(p["from"].resource) for p in occupants],
                      "history": [m["body"] for m in history]})
            elif op == "disco":
                iq = await self["xep_0030"].get_info(jid=cmd["jid"], timeout=20, cached=False)
                emit({"op": "result", "id": cid, "ok": True, "xml": str(iq)})
            elif op == "vcard":
                # XEP-0054 section 3.2: publish one's own vCard (no to).
                from xml.etree import ElementTree
                iq = self.make_iq_set(sub=ElementTree.fromstring(cmd["xml"]))
                res = await iq.send(timeout=20)
                emit({"op": "result", "id": cid, "ok": True, "xml": str(res)})
            elif op == "quit":
                self.disconnect()
                await asyncio.sleep(0.2)
                self.loop.stop()
        except PresenceError as e:
            emit({"op": "result", "id": cid, "ok": False, "error": e.condition, "xml": str(e.presence)})
        except IqError as e:
            emit({"op": "result", "id": cid, "ok": False, "error": e.condition, "xml": str(e.iq)})
        except (IqTimeout, asyncio.TimeoutError):
            emit({"op": "result", "id": cid, "ok": False, "error": "timeout"})
        except Exception as e:  # report, never die silently
            emit({"op": "result", "id": cid, "ok": False, "error": "%s: %s" % (type(e).__name__, e)})


def main():
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    jid, password, host, port = sys.argv[1:5]
    x = Driver(jid, password, host, port)
    loop = x.loop

    def reader():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except ValueError:
                emit({"op": "failed", "error": "bad command line"})
                continue
            asyncio.run_coroutine_threadsafe(x.run_op(cmd), loop)
        asyncio.run_coroutine_threadsafe(x.run_op({"op": "quit"}), loop)

    threading.Thread(target=reader, daemon=True).start()
    x.connect(address=(host, int(port)))
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
