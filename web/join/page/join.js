// The browser join page: microphone, one WHIP-style offer/answer, the leg's
// event stream for what moderators do, and what this browser hears.
const $ = (id) => document.getElementById(id);
const app = $('app');
const cfg = JSON.parse(app.dataset.config);
const token = decodeURIComponent(location.hash.slice(1));

let pc = null;        // the RTCPeerConnection while in the call
let mic = null;       // the microphone stream
let resource = null;  // the leg's URL, from the 201's Location
let events = null;    // the leg's EventSource
let selfMuted = false;
let ended = false;
let meterTimer = null;

if (token) {
  $('who-personal').hidden = false;
  $('nick-row').hidden = true;
}

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  join();
});
$('mute').addEventListener('click', toggleMute);
$('leave').addEventListener('click', leave);
window.addEventListener('pagehide', () => {
  if (resource && !ended) fetch(resource, { method: "DELETE", keepalive: true });
});

function showError(text) {
  const e = $('error');
  e.textContent = text;
  e.hidden = !text;
}

function setStatus(state, text) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
}

async function join() {
  showError('');
  if (!token && !$('nick').value.trim()) {
    showError('Type your name first: it is how the room will see you.');
    return;
  }
  $('join').disabled = true;
  try {
    mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    $('join').disabled = false;
    showError(e.name === 'NotAllowedError'
      ? 'Microphone denied: allow this page to use your microphone, then join again.'
      : 'No microphone available: ' + e.message);
    return;
  }
  pc = new RTCPeerConnection({ iceServers: cfg.iceServers });
  for (const t of mic.getAudioTracks()) pc.addTrack(t, mic);
  pc.ontrack = (ev) => {
    const stream = ev.streams[0] || new MediaStream([ev.track]);
    const audio = $('remote');
    audio.srcObject = stream;
    audio.play().catch(() => {});
    listen(stream);
  };
  pc.onconnectionstatechange = () => {
    if (pc && pc.connectionState === 'failed' && !ended) {
      finish('The audio could not reach the bridge (the network blocks it).');
    }
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 2000);

  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const password = $('password').value;
  if (password) headers['X-Room-Password'] = password;
  const url = cfg.whip + (token ? '' : '?nick=' + encodeURIComponent($('nick').value.trim()));
  let res;
  try {
    res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp });
  } catch (e) {
    hangUp();
    $('join').disabled = false;
    showError('The bridge is unreachable: check your network and try again.');
    return;
  }
  const body = await res.text(); // an SDP answer must keep its final CRLF
  if (res.status !== 201) {
    hangUp();
    $('join').disabled = false;
    refused(res.status, body.trim());
    return;
  }
  resource = new URL(res.headers.get('Location'), res.url).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  ended = false;
  $('join-form').hidden = true;
  $('call').hidden = false;
  $('people').hidden = false;
  setStatus('connecting', 'connecting…');
  watch();
}

// refused says why the room did not let this browser in.
function refused(status, text) {
  switch (status) {
    case 401:
      $('password-row').hidden = false;
      showError('This room has a password: type it, then join again.');
      break;
    case 403:
      if (/password/i.test(text)) {
        $('password-row').hidden = false;
        showError('Wrong password: ' + text);
      } else if (/banned/i.test(text)) {
        showError('You are banned from this room.');
      } else {
        showError('The room refused you: ' + text);
      }
      break;
    case 404:
      showError('This room does not exist (any more).');
      break;
    case 409:
      showError('The room is full: ' + text);
      break;
    case 503:
      showError('The room cannot take you now: ' + text);
      break;
    default:
      showError('Could not join (' + status + '): ' + text);
  }
}

function gathered(conn, ms) {
  if (conn.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (conn.iceGatheringState === 'complete') resolve(); };
    conn.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, ms);
  });
}

// watch follows the leg's event stream: its state and the room's roster.
function watch() {
  events = new EventSource(resource + '/events');
  events.addEventListener('state', (e) => {
    const st = JSON.parse(e.data);
    $('moderated').hidden = !st.muted;
    if (st.state === 'connected') {
      setStatus(st.muted ? 'muted' : (selfMuted ? 'self-muted' : 'connected'),
        st.muted ? 'connected, muted by a moderator' : (selfMuted ? 'connected, muted' : 'connected'));
    }
    if (st.state === 'ended') finish(endText(st));
  });
  events.addEventListener('roster', (e) => showRoster(JSON.parse(e.data)));
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED && !ended) {
      finish('The connection to the bridge was lost.');
    }
  };
}

function endText(st) {
  if (st.how === 'booted') {
    const why = st.reason || 'removed by a moderator';
    return 'The call ended: ' + why + '.';
  }
  if (st.how === 'failed') return 'The call failed: ' + (st.reason || 'lost') + '.';
  return 'You left the call.';
}

// finish ends the call on this side and says why.
function finish(text) {
  ended = true;
  hangUp();
  setStatus('ended', 'ended');
  $('moderated').hidden = true;
  $('mute').disabled = true;
  $('leave').disabled = true;
  if (text !== 'You left the call.') showError(text);
  $('join').disabled = false;
}

function hangUp() {
  if (events) { events.close(); events = null; }
  if (pc) { pc.close(); pc = null; }
  if (mic) { for (const t of mic.getTracks()) t.stop(); mic = null; }
  if (meterTimer) { clearInterval(meterTimer); meterTimer = null; }
}

async function toggleMute() {
  if (!resource || ended) return;
  const want = !selfMuted;
  const res = await fetch(resource + '/mute', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ muted: want }),
  }).catch(() => null);
  if (!res || !res.ok) {
    showError('Could not change mute: the bridge did not answer.');
    return;
  }
  selfMuted = want;
  if (mic) for (const t of mic.getAudioTracks()) t.enabled = !want;
  $('mute').textContent = want ? 'Unmute' : 'Mute';
  $('mute').setAttribute('aria-pressed', String(want));
  if ($('status').dataset.state !== 'muted') {
    setStatus(want ? 'self-muted' : 'connected', want ? 'connected, muted' : 'connected');
  }
}

async function leave() {
  if (!resource || ended) return;
  await fetch(resource, { method: 'DELETE' }).catch(() => {});
  finish('You left the call.');
  setStatus('left', 'left');
}

function showRoster(people) {
  const ul = $('roster');
  ul.replaceChildren();
  for (const p of people) {
    const li = document.createElement('li');
    li.dataset.nick = p.nick;
    li.dataset.audio = p.audio;
    li.dataset.talking = String(p.talking);
    li.dataset.muted = String(p.muted);
    li.textContent = p.nick + (p.self ? ' (you)' : '');
    const faces = [];
    if (p.chat) faces.push('chat');
    if (p.audio) faces.push(p.audio);
    const span = document.createElement('span');
    span.className = 'face';
    span.textContent = faces.join(', ');
    li.appendChild(span);
    if (p.talking) li.classList.add('talking');
    if (p.muted) li.classList.add('muted');
    ul.appendChild(li);
  }
}

// listen shows what this browser hears: level and dominant frequency, from
// a WebAudio analyser on the received stream.
function listen(stream) {
  const ctx = new AudioContext();
  ctx.resume().catch(() => {});
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const freq = new Float32Array(analyser.frequencyBinCount);
  const wave = new Float32Array(analyser.fftSize);
  meterTimer = setInterval(() => {
    analyser.getFloatTimeDomainData(wave);
    let sum = 0;
    for (const v of wave) sum += v * v;
    const rms = Math.sqrt(sum / wave.length);
    analyser.getFloatFrequencyData(freq);
    let best = 0;
    for (let i = 1; i < freq.length; i++) if (freq[i] > freq[best]) best = i;
    const hz = Math.round(best * ctx.sampleRate / analyser.fftSize);
    const h = $('hearing');
    $('level').value = Math.min(1, rms * 4);
    h.dataset.level = rms.toFixed(4);
    h.dataset.frequency = rms > 0.005 ? String(hz) : '0';
    h.textContent = rms > 0.005 ? 'sound, strongest near ' + hz + ' Hz' : 'silence';
  }, 200);
}
