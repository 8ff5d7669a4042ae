// The web satellite page: log in, choose the room, stream the microphone, play what Hearth says.
// `window.hearth` exposes the page's state for tests (and the curious): levels, what played, the log.
'use strict';
const $ = (id) => document.getElementById(id);
const hearth = (window.hearth = { state: 'idle', connected: false, outPeak: 0, micPeak: 0, played: [], transcript: '', reply: '', log: [] });

let ctx = null;        // AudioContext
let ws = null;         // the bridge
let analyser = null;   // the speaker's level meter
let playAt = 0;        // when the next chunk starts, in ctx time
let pendingChunk = null;
const sources = new Map(); // utterance_id -> { nodes, session_id, startedAt, endsAt, last }

async function start() {
  const r = await fetch('/session', { credentials: 'same-origin' });
  if (r.ok) showRoom(); else $('login').hidden = false;
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = JSON.stringify({ user: $('user').value, password: $('password').value });
  const r = await fetch('/login', { method: 'POST', body, headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin' });
  if (r.ok) { $('login').hidden = true; showRoom(); } else { $('login-error').hidden = false; hearth.log.push('login refused'); }
});

function showRoom() {
  $('room').hidden = false;
  $('site').value = localStorage.getItem('hearth.site') || '';
  hearth.loggedIn = true;
}

$('connect').addEventListener('click', connect);
$('talk').addEventListener('click', () => send({ type: 'push_to_talk' }));

async function connect() {
  const site = $('site').value.trim();
  if (!site || /[\/+# ]/.test(site)) { $('status').textContent = 'Choose a room name (no spaces or / + #).'; return; }
  localStorage.setItem('hearth.site', site);
  ctx = ctx || new AudioContext();
  await ctx.resume();
  const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false, channelCount: 1 } });
  await ctx.audioWorklet.addModule('/worklet.js');
  const capture = new AudioWorkletNode(ctx, 'hearth-capture');
  ctx.createMediaStreamSource(mic).connect(capture);
  analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  analyser.connect(ctx.destination);
  ws = new WebSocket(`wss://${location.host}/ws?site=${encodeURIComponent(site)}`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { hearth.connected = true; $('talk').disabled = false; $('status').textContent = `Connected as ${site}.`; };
  ws.onclose = () => { hearth.connected = false; $('talk').disabled = true; $('status').textContent = 'Disconnected.'; };
  ws.onmessage = (m) => (typeof m.data === 'string' ? onText(JSON.parse(m.data)) : onPcm(m.data));
  capture.port.onmessage = (m) => {
    hearth.micPeak = Math.max(hearth.micPeak, m.data.rms);
    $('mic-level').style.width = `${Math.min(100, m.data.rms * 300)}%`;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(m.data.pcm);
  };
  requestAnimationFrame(meter);
}

function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

function onText(msg) {
  hearth.log.push(msg.type);
  switch (msg.type) {
    case 'chunk': pendingChunk = msg; if (msg.bytes === 0) onPcm(new ArrayBuffer(0)); break;
    case 'stop': stopAll(); break;
    case 'state': hearth.state = msg.state; $('state').textContent = msg.state; break;
    case 'listening': if (msg.active) { $('transcript').textContent = '…'; } break;
    case 'transcript': hearth.transcript = msg.text; $('transcript').textContent = msg.text; break;
    case 'reply': hearth.reply = msg.text; $('reply').textContent = msg.text; break;
  }
}

// One chunk's PCM: queued right after the previous one of the same stream.
function onPcm(buffer) {
  const meta = pendingChunk;
  pendingChunk = null;
  if (!meta) return;
  let u = sources.get(meta.utterance_id);
  if (!u) { u = { nodes: [], session_id: meta.session_id, startedAt: null, endsAt: ctx.currentTime, last: false }; sources.set(meta.utterance_id, u); }
  const samples = new Int16Array(buffer);
  const frames = Math.floor(samples.length / meta.channels);
  if (frames > 0) {
    const audio = ctx.createBuffer(1, frames, meta.sample_rate_hz);
    const out = audio.getChannelData(0);
    for (let i = 0; i < frames; i++) out[i] = samples[i * meta.channels] / 32768;
    const node = ctx.createBufferSource();
    node.buffer = audio;
    node.connect(analyser);
    const at = Math.max(ctx.currentTime + 0.02, playAt);
    node.start(at);
    if (u.startedAt === null) u.startedAt = at;
    playAt = at + audio.duration;
    u.endsAt = playAt;
    u.nodes.push(node);
  }
  if (meta.last) {
    u.last = true;
    const id = meta.utterance_id;
    const wait = Math.max(0, (u.endsAt - ctx.currentTime) * 1000);
    u.timer = setTimeout(() => finish(id, false), wait);
  }
}

function finish(id, interrupted) {
  const u = sources.get(id);
  if (!u) return;
  sources.delete(id);
  clearTimeout(u.timer);
  const played = u.startedAt === null ? 0 : Math.max(0, Math.min(ctx.currentTime, u.endsAt) - u.startedAt);
  const duration_ms = Math.round(played * 1000);
  hearth.played.push({ utterance_id: id, duration_ms, interrupted });
  send({ type: 'played', utterance_id: id, session_id: u.session_id, duration_ms, interrupted });
}

function stopAll() {
  for (const [id, u] of sources) { for (const n of u.nodes) { try { n.stop(); } catch (_) {} } finish(id, true); }
  playAt = ctx ? ctx.currentTime : 0;
}

function meter() {
  const data = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  const rms = Math.sqrt(sum / data.length);
  hearth.outPeak = Math.max(hearth.outPeak, rms);
  $('out-level').style.width = `${Math.min(100, rms * 300)}%`;
  requestAnimationFrame(meter);
}

start();
