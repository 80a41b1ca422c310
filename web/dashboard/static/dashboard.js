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

function participantRow(room, p) {
  const talking = p.talking;
  const status = [p.muted ? "muted" : "", p.held ? "on hold" : "", talking ? "talking" : ""].filter(Boolean).join(", ");
  const secure = (p.legs || []).map((l) => l.security);
  return el("tr", { "data-nick": p.nick, "data-faces": p.faces.join(" "), "data-talking": talking, "data-muted": p.muted, "data-role": p.role },
    el("td", { class: "nick" }, p.nick),
    el("td", { class: "faces" }, ...p.faces.map((f) => el("span", { class: "face " + f }, f))),
    el("td", {}, p.role + (p.affiliation !== "none" ? ` (${p.affiliation})` : "")),
    el("td", { class: "talk" }, status || "—"),
    el("td", {}, secure.length ? secure.join(", ") : "—"),
    el("td", {}, p.jid || ""),
    el("td", { class: "actions" },
      p.role === "visitor"
        ? el("button", { "data-action": "unmute", onclick: () => act(room.name, p.nick, "unmute") }, "Unmute")
        : el("button", { "data-action": "mute", onclick: () => act(room.name, p.nick, "mute") }, "Mute"),
      el("button", { "data-action": "kick", onclick: () => act(room.name, p.nick, "kick") }, "Kick"),
      el("button", { "data-action": "ban", disabled: !p.jid, title: p.jid ? "" : "an anonymous phone has no JID to ban",
        onclick: () => act(room.name, p.nick, "ban") }, "Ban")));
}

function roomSection(room) {
  const meta = [
    room.node ? `node ${room.node}${room.remote ? " (remote)" : ""}` : "no calls",
    room.security ? `security ${room.security}` : "",
    room.limits.max_participants ? `max ${room.limits.max_participants}` : "",
    room.moderated ? "moderated" : "", room.members_only ? "members only" : "", room.password_protected ? "PIN" : "",
  ].filter(Boolean).join(" · ");
  const rows = room.participants.map((p) => participantRow(room, p));
  for (const l of room.pending_legs || []) {
    rows.push(el("tr", { "data-call": l.call_id }, el("td", { class: "nick" }, "(" + (l.ringing ? "ringing" : l.state) + ")"),
      el("td", {}, el("span", { class: "face " + l.kind }, l.kind)), el("td", {}), el("td", {}), el("td", {}, l.security), el("td", {}), el("td", {})));
  }
  return el("section", { class: "room", "data-room": room.name, "data-node": room.node || "", "data-security": room.security || "" },
    el("h2", {}, room.name, el("span", { class: "meta sec-" + (room.security || "none") }, meta),
      el("button", { "data-action": "end", onclick: () => act(room.name, null, "end") }, "End room"),
      limitControl(room), dialControl(room)),
    room.subject ? el("p", {}, room.subject) : "",
    el("table", {},
      el("thead", {}, el("tr", {}, ...["Nick", "Faces", "Role", "Status", "Security", "JID", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
}

// The room's controls; each input has a data-field naming it, so a redraw
// can give back what is being typed.
function limitControl(room) {
  const input = el("input", { type: "number", min: 0, value: room.limits.max_participants, "data-field": "limit " + room.name,
    title: "most participants, chat and phones together (0: no limit)" });
  return el("span", { class: "control" }, "max ", input,
    el("button", { "data-action": "limit", onclick: () => setLimit(room.name, input) }, "Set"));
}

function dialControl(room) {
  const input = el("input", { type: "text", placeholder: "sip:…", "data-field": "dial " + room.name, title: "call a phone into the room" });
  return el("span", { class: "control" }, input,
    el("button", { "data-action": "dial", onclick: () => dial(room.name, input) }, "Dial"));
}

// render redraws the rooms; an input being typed in keeps its value and
// focus, and the others what was typed in them.
function render(rooms) {
  const typed = new Map([...roomsEl.querySelectorAll("input[data-field]")].map((i) => [i.dataset.field, i.value]));
  const focused = document.activeElement?.dataset?.field;
  roomsEl.dataset.count = rooms.length;
  roomsEl.replaceChildren(...(rooms.length ? rooms.map(roomSection) : [el("p", { class: "empty" }, "No rooms yet.")]));
  for (const input of roomsEl.querySelectorAll("input[data-field]")) {
    if (typed.has(input.dataset.field) && (input.dataset.field === focused || input.type === "text")) {
      input.value = typed.get(input.dataset.field);
    }
    if (input.dataset.field === focused) input.focus();
  }
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
