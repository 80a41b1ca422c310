// The operators' dashboard: it reads the admin API (/api/v1) exactly as a
// script would, keeps the rooms live from the API's event stream, and
// takes actions with the same calls `bridge room ...` makes. Everything a
// person (or a test) needs to see is in the page: data-* attributes carry
// the state the text shows.

const api = document.body.dataset.api || "/api/v1/";
const roomsEl = document.getElementById("rooms");
const statusEl = document.getElementById("status");
const liveEl = document.getElementById("live");
const login = document.getElementById("login");

// The token comes once in the URL's fragment (#token=..., never sent to
// the server) or from the login form, and lives in this tab only.
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has("token")) return false;
  sessionStorage.setItem("bridge-admin-token", fragment.get("token"));
  history.replaceState(null, "", location.pathname);
  return true;
}
takeToken();

function headers(extra = {}) {
  const token = sessionStorage.getItem("bridge-admin-token");
  return token ? { ...extra, Authorization: "Bearer " + token } : extra;
}

function say(text, error = false) {
  statusEl.textContent = text;
  statusEl.className = error ? "error" : "";
}

function askToken() {
  login.hidden = false;
  say("The admin API wants a token.", true);
}

function loggedIn() {
  login.hidden = true;
  say("");
  start();
}

login.addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("bridge-admin-token", document.getElementById("token").value.trim());
  loggedIn();
});
window.addEventListener("hashchange", () => takeToken() && loggedIn());

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, String(v));
    else if (k === "onclick") e.addEventListener("click", v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

async function act(room, nick, action) {
  const path = nick === null
    ? `rooms/${encodeURIComponent(room)}/end`
    : `rooms/${encodeURIComponent(room)}/participants/${encodeURIComponent(nick)}/${action}`;
  const target = nick === null ? room : `${nick} in ${room}`;
  say(`${action} ${target}…`);
  try {
    const resp = await fetch(api + path, { method: "POST", headers: headers() });
    const body = await resp.json().catch(() => ({}));
    if (resp.status === 401) return askToken();
    if (!resp.ok) return say(`${action} ${target}: ${resp.status} ${body.error || ""}`, true);
    say(`${action} ${target}: ${body.outcome}`);
  } catch (e) {
    say(`${action} ${target}: ${e.message}`, true);
  }
}

async function setLimit(room, input) {
  const n = Number(input.value);
  say(`limit ${room}…`);
  try {
    const resp = await fetch(api + `rooms/${encodeURIComponent(room)}/limits`, {
      method: "PUT", headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ max_participants: n }),
    });
    const body = await resp.json().catch(() => ({}));
    if (resp.status === 401) return askToken();
    if (!resp.ok) return say(`limit ${room}: ${resp.status} ${body.error || ""}`, true);
    say(`limit ${room} to ${n}: ${body.outcome}`);
  } catch (e) {
    say(`limit ${room}: ${e.message}`, true);
  }
}

async function dial(room, input) {
  const uri = input.value.trim();
  say(`dial ${uri} into ${room}…`);
  try {
    const resp = await fetch(api + `rooms/${encodeURIComponent(room)}/dial`, {
      method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify({ uri }),
    });
    const body = await resp.json().catch(() => ({}));
    if (resp.status === 401) return askToken();
    if (!resp.ok) return say(`dial ${uri} into ${room}: ${resp.status} ${body.error || ""}`, true);
    say(`dial ${uri} into ${room}: ${body.outcome}`);
    input.value = "";
  } catch (e) {
    say(`dial ${uri} into ${room}: ${e.message}`, true);
  }
}

// confirmed makes the button of an action that cannot be undone (kick, ban,
// end): its first click only arms it ("Really kick?"), a second click within
// a few seconds does it. The page changes under the pointer as rooms update
// live, so one stray click must remove nobody.
function confirmed(action, label, run) {
  const b = el("button", { "data-action": action }, label);
  let timer = 0;
  const disarm = () => {
    clearTimeout(timer);
    delete b.dataset.armed;
    b.textContent = label;
  };
  b.addEventListener("click", () => {
    if (b.dataset.armed === "true") {
      disarm();
      run();
      return;
    }
    b.dataset.armed = "true";
    b.textContent = `Really ${action}?`;
    timer = setTimeout(disarm, 4000);
  });
  return b;
}

// The page is updated in place: a room's section, its controls and each
// participant's row are made once and then changed, so what a person is
// clicking or typing in is never swapped out under them by a live update.

// setText changes an element's text only when it differs.
function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function participantRow(roomName, nick) {
  const tr = el("tr", { "data-nick": nick });
  const cell = () => el("td");
  tr.cells_ = { nick: el("td", { class: "nick" }, nick), faces: el("td", { class: "faces" }), role: cell(),
    status: el("td", { class: "talk" }), security: cell(), jid: cell() };
  const voice = el("button", { onclick: () => act(roomName, nick, voice.dataset.action) });
  const ban = confirmed("ban", "Ban", () => act(roomName, nick, "ban"));
  tr.voice_ = voice;
  tr.ban_ = ban;
  tr.append(...Object.values(tr.cells_), el("td", { class: "actions" }, voice,
    confirmed("kick", "Kick", () => act(roomName, nick, "kick")), ban));
  return tr;
}

function updateRow(tr, p) {
  const d = tr.dataset;
  d.faces = p.faces.join(" ");
  d.talking = p.talking;
  d.muted = p.muted;
  d.role = p.role;
  const c = tr.cells_;
  if (c.faces.dataset.faces !== d.faces) {
    c.faces.dataset.faces = d.faces;
    c.faces.replaceChildren(...p.faces.map((f) => el("span", { class: "face " + f }, f)));
  }
  setText(c.role, p.role + (p.affiliation !== "none" ? ` (${p.affiliation})` : ""));
  setText(c.status, [p.muted ? "muted" : "", p.held ? "on hold" : "", p.talking ? "talking" : ""].filter(Boolean).join(", ") || "—");
  const secure = (p.legs || []).map((l) => `${l.security} (${l.signalling}, ${l.media})`);
  setText(c.security, secure.length ? secure.join("; ") : "—");
  setText(c.jid, p.jid || "");
  const voice = p.role === "visitor" ? "unmute" : "mute";
  tr.voice_.dataset.action = voice;
  setText(tr.voice_, voice === "mute" ? "Mute" : "Unmute");
  tr.ban_.disabled = !p.jid;
  tr.ban_.title = p.jid ? "" : "an anonymous phone has no JID to ban";
}

function pendingRow(l) {
  return el("tr", { "data-call": l.call_id }, el("td", { class: "nick" }, "(" + (l.ringing ? "ringing" : l.state) + ")"),
    el("td", {}, el("span", { class: "face " + l.kind }, l.kind)), el("td"), el("td"), el("td", {}, `${l.security} (${l.signalling}, ${l.media})`), el("td"), el("td"));
}

// roomView makes a room's section with its controls, once.
function roomView(name) {
  const meta = el("span", { class: "meta" });
  const limit = el("input", { type: "number", min: 0, "data-field": "limit " + name, title: "most participants, chat and phones together (0: no limit)" });
  const target = el("input", { type: "text", placeholder: "sip:…", "data-field": "dial " + name, title: "call a phone into the room" });
  const subject = el("p", { class: "subject" });
  const tbody = el("tbody");
  const section = el("section", { class: "room", "data-room": name },
    el("h2", {}, name, meta,
      confirmed("end", "End room", () => act(name, null, "end")),
      el("span", { class: "control" }, "max ", limit, el("button", { "data-action": "limit", onclick: () => setLimit(name, limit) }, "Set")),
      el("span", { class: "control" }, target, el("button", { "data-action": "dial", onclick: () => dial(name, target) }, "Dial"))),
    subject,
    el("table", {},
      el("thead", {}, el("tr", {}, ...["Nick", "Faces", "Role", "Status", "Security", "JID", ""].map((h) => el("th", {}, h)))),
      tbody));
  return { section, meta, limit, subject, tbody, rows: new Map() };
}

function updateRoom(v, room) {
  const d = v.section.dataset;
  d.node = room.node || "";
  d.security = room.security || "";
  setText(v.meta, [
    room.node ? `node ${room.node}${room.remote ? " (remote)" : ""}` : "no calls",
    room.security ? `security ${room.security}` : "",
    room.limits.max_participants ? `max ${room.limits.max_participants}` : "",
    room.moderated ? "moderated" : "", room.members_only ? "members only" : "", room.password_protected ? "PIN" : "",
  ].filter(Boolean).join(" · "));
  v.meta.className = "meta sec-" + (room.security || "none");
  // The limit field follows the room unless the operator is editing it.
  const max = String(room.limits.max_participants);
  if (v.limit.dataset.server !== max && document.activeElement !== v.limit) {
    v.limit.value = max;
    v.limit.dataset.server = max;
  }
  setText(v.subject, room.subject || "");
  const order = [];
  const seen = new Set();
  for (const p of room.participants) {
    seen.add(p.nick);
    let tr = v.rows.get(p.nick);
    if (!tr) v.rows.set(p.nick, (tr = participantRow(room.name, p.nick)));
    updateRow(tr, p);
    order.push(tr);
  }
  for (const [nick, tr] of v.rows) {
    if (!seen.has(nick)) {
      tr.remove();
      v.rows.delete(nick);
    }
  }
  const pending = (room.pending_legs || []).map(pendingRow);
  for (const tr of v.tbody.querySelectorAll("tr[data-call]")) tr.remove();
  order.push(...pending);
  // Put rows in order, moving only those out of place.
  order.forEach((tr, i) => {
    if (v.tbody.children[i] !== tr) v.tbody.insertBefore(tr, v.tbody.children[i] || null);
  });
}

const views = new Map(); // room name -> its section's parts

function render(rooms) {
  roomsEl.dataset.count = rooms.length;
  const seen = new Set(rooms.map((r) => r.name));
  for (const [name, v] of views) {
    if (!seen.has(name)) {
      v.section.remove();
      views.delete(name);
    }
  }
  const empty = roomsEl.querySelector(".empty");
  if (rooms.length && empty) empty.remove();
  if (!rooms.length && !empty) roomsEl.append(el("p", { class: "empty" }, "No rooms yet."));
  rooms.forEach((room, i) => {
    let v = views.get(room.name);
    if (!v) views.set(room.name, (v = roomView(room.name)));
    updateRoom(v, room);
    if (roomsEl.children[i] !== v.section) roomsEl.insertBefore(v.section, roomsEl.children[i] || null);
  });
}

function setLive(on, text) {
  liveEl.dataset.live = on;
  liveEl.textContent = text;
}

// The event stream is read with fetch, not EventSource, which cannot send
// the Authorization header.
async function stream() {
  for (;;) {
    try {
      const resp = await fetch(api + "events", { headers: headers(), cache: "no-store" });
      if (resp.status === 401) return askToken();
      if (!resp.ok) throw new Error(`${resp.status} ${(await resp.json().catch(() => ({}))).error || ""}`);
      setLive(true, "live");
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          handle(buf.slice(0, end));
          buf = buf.slice(end + 2);
        }
      }
    } catch (e) {
      say("event stream: " + e.message, true);
    }
    setLive(false, "reconnecting…");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function handle(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  if (name === "rooms") render(JSON.parse(data.join("\n")).rooms);
}

async function health() {
  const h = document.getElementById("health");
  try {
    const resp = await fetch(api + "node", { headers: headers(), cache: "no-store" });
    if (!resp.ok) return;
    const n = await resp.json();
    const down = Object.entries(n.checks).filter(([, ok]) => !ok).map(([name]) => name);
    h.dataset.ready = n.ready;
    h.textContent = n.ready ? "ready" : "not ready";
    if (down.length) h.textContent += " (down: " + down.join(", ") + ")";
    document.getElementById("figures").textContent = `calls ${n.calls} · rooms with calls ${n.rooms}`;
  } catch (e) {
    h.dataset.ready = false;
    h.textContent = "unreachable";
  }
}

let started = false;
let streaming = false;
function start() {
  health();
  if (!started) setInterval(health, 2000);
  started = true;
  if (!streaming) {
    streaming = true;
    stream().finally(() => { streaming = false; });
  }
}
start();
