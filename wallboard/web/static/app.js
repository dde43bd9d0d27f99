// The wallboard page: renders each board the appliance sends over /ws and ticks the
// clocks locally (the server pushes only changes). Text always goes in as textContent.
"use strict";

// The words, from the appliance's one table (wallboard/words.py), inlined in the page.
const T = JSON.parse(document.getElementById("words").textContent);
const LANG = document.documentElement.lang === "en" ? "en" : "da";
// JavaScript counts days from Sunday; the table from Monday, as Python does.
const weekdayName = (jsDay) => T[`weekday_${(jsDay + 6) % 7}`];
const QUIET_LIMIT_MS = 75000; // the appliance sends at least every 30 s

let board = null;
let receivedAt = 0; // performance.now() when `board` arrived
let serverMs = 0; // the appliance's clock at that moment
let offsetMinutes = 60; // the site's UTC offset, from generated_at
let connected = false;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
}

function fmtNumber(value, digits) {
  if (value === null || value === undefined) return "–";
  return value.toLocaleString(LANG === "da" ? "da-DK" : "en-GB",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function elapsed() { return (performance.now() - receivedAt) / 1000; }

// The site's local time, from the appliance's clock: a TV with a wrong clock still shows it right.
function siteNow() {
  return new Date(serverMs + elapsed() * 1000 + offsetMinutes * 60000);
}

function parseOffset(iso) {
  const match = /([+-])(\d\d):(\d\d)$/.exec(iso || "");
  return match ? (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

function whenText(iso) {
  const offset = parseOffset(iso);
  const local = new Date(Date.parse(iso) + offset * 60000);
  const hh = String(local.getUTCHours()).padStart(2, "0");
  const mm = String(local.getUTCMinutes()).padStart(2, "0");
  const sep = LANG === "da" ? "." : ":";
  return `${weekdayName(local.getUTCDay())} ${T.at} ${hh}${sep}${mm}`;
}

function figure(kind, label, value) {
  const box = el("div", "figure " + kind);
  box.append(el("div", "label", label), el("div", "value", value));
  return box;
}

function renderQueue(queue) {
  const card = el("article", "queue " + (queue.stale ? "stale" : queue.level || "ok"));
  card.dataset.queue = queue.queue;
  card.append(el("div", "queue-name", queue.name));
  if (queue.stale) {
    card.append(el("div", "nodata", T.no_data));
  } else {
    const counts = el("div", "counts");
    for (const key of ["available", "busy", "paused"]) {
      const line = el("div", "count " + key);
      const n = key === "busy" ? queue.agents.busy + queue.agents.ringing + queue.agents.wrap_up
        : queue.agents[key];
      line.append(el("b", "", String(n)), document.createTextNode(" " + T["count_" + key]));
      counts.append(line);
    }
    const longest = figure("longest", T.longest, fmtDuration(queue.longest_wait_s));
    longest.querySelector(".value").dataset.base = queue.longest_wait_s;
    longest.querySelector(".value").dataset.ticking = queue.waiting > 0 ? "1" : "";
    card.append(counts, figure("waiting", T.waiting, String(queue.waiting)), longest);
  }
  const today = el("div", "today");
  const t = queue.today;
  const items = [
    [T.answered, fmtNumber(t.answered, 0)],
    [T.abandoned, fmtNumber(t.abandoned, 0) + (t.abandon_pct === null ? "" : ` (${fmtNumber(t.abandon_pct, 1)} %)`)],
    [T.sl, t.sl_pct === null ? "–" : fmtNumber(t.sl_pct, 0) + " %"],
    [T.asa, t.asa_s === null ? "–" : fmtDuration(t.asa_s)],
  ];
  for (const [label, value] of items) {
    const item = el("span", "", label + " ");
    item.append(el("b", "", value));
    today.append(item);
  }
  card.append(today);
  return card;
}

function renderAgent(agent) {
  const row = el("li", "agent " + agent.state);
  row.dataset.agent = agent.agent;
  const state = T["state_" + agent.state] + (agent.reason ? " – " + agent.reason : "");
  // null: the phone system's clock could not be believed, so the time is unknown.
  const known = agent.in_state_s !== null;
  const time = el("span", "time", known ? fmtDuration(agent.in_state_s) : "–");
  time.dataset.base = known ? agent.in_state_s : "";
  time.dataset.ticking = known ? "1" : "";
  row.append(el("span", "dot"), el("span", "name", agent.name), time, el("span", "state", state));
  return row;
}

function setBanner(kind, text) {
  const banner = document.getElementById("banner");
  banner.className = "banner " + kind;
  banner.textContent = text;
  banner.hidden = !text;
}

function render() {
  if (!board) return;
  document.getElementById("subtitle").textContent = T.subtitle;
  const feed = connected ? board.feed : "lost";
  const pill = document.getElementById("feed");
  pill.className = "feed " + feed;
  pill.textContent = T["feed_" + feed];
  const banners = {
    stale: T.banner_stale, offline: T.banner_offline, disconnected: T.banner_disconnected,
    lost: T.banner_lost,
  };
  if (banners[feed]) setBanner(feed, banners[feed]);
  else if (!board.open) {
    setBanner("closed", board.next_open
      ? T.closed_until.replace("{when}", whenText(board.next_open)) : T.closed);
  } else setBanner("", "");

  const queues = document.getElementById("queues");
  queues.replaceChildren(...(board.queues.length ? board.queues.map(renderQueue)
    : [el("div", "empty", T.no_queues)]));
  const agents = document.getElementById("agents");
  document.getElementById("agents-title").textContent = `${T.agents_title} (${board.agents.length})`;
  agents.replaceChildren(...(board.agents.length ? board.agents.map(renderAgent)
    : [el("li", "empty", T.no_agents)]));

  const ticker = document.getElementById("ticker");
  const text = board.ticker.map((m) => m.text).join("   •   ");
  ticker.hidden = !text;
  ticker.className = "ticker" + (board.ticker.some((m) => m.level === "warning") ? " warning" : "");
  const tickerText = document.getElementById("ticker-text");
  if (tickerText.textContent !== text) {
    tickerText.textContent = text;
    tickerText.style.setProperty("--duration", Math.max(12, text.length * 0.28) + "s");
  }
  drawCurves();
  tick();
}

// Once a second: clocks, and the waits that keep growing between messages.
function tick() {
  if (!board) return;
  const now = siteNow();
  const hh = String(now.getUTCHours()).padStart(2, "0");
  const mm = String(now.getUTCMinutes()).padStart(2, "0");
  document.getElementById("clock").textContent = `${hh}${LANG === "da" ? "." : ":"}${mm}`;
  document.getElementById("date").textContent =
    `${weekdayName(now.getUTCDay())} ${now.getUTCDate()}.${now.getUTCMonth() + 1}.${now.getUTCFullYear()}`;
  if (!connected) return; // frozen numbers, under a banner that says so
  const grown = elapsed();
  for (const node of document.querySelectorAll("[data-ticking='1']")) {
    node.textContent = fmtDuration(Number(node.dataset.base) + grown);
  }
  if (performance.now() - receivedAt > QUIET_LIMIT_MS && socket) socket.close();
}

// Today's curve of waiting callers per queue, from /api/history, redrawn once a minute.
let curves = {};
const SVG = "http://www.w3.org/2000/svg";

function sparkline(points) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 100 20");
  svg.setAttribute("preserveAspectRatio", "none");
  if (points.length < 2) return svg;
  const times = points.map((p) => Date.parse(p[0]));
  const first = times[0], span = Math.max(1, times[times.length - 1] - first);
  const peak = Math.max(1, ...points.map((p) => p[1]));
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.map((p, i) =>
    `${((times[i] - first) / span * 100).toFixed(2)},${(20 - p[1] / peak * 19).toFixed(2)}`).join(" "));
  svg.append(line);
  return svg;
}

function drawCurves() {
  for (const card of document.querySelectorAll(".queue")) {
    const old = card.querySelector(".spark");
    if (old) old.remove();
    const points = curves[card.dataset.queue];
    if (points && !card.classList.contains("stale")) card.append(sparkline(points));
  }
}

async function loadCurves() {
  try {
    const reply = await fetch("/api/history");
    if (reply.ok) curves = (await reply.json()).today || {};
  } catch (error) {
    curves = {};
  }
  drawCurves();
}

let socket = null;
let retryMs = 500;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onmessage = (event) => {
    board = JSON.parse(event.data);
    receivedAt = performance.now();
    serverMs = Date.parse(board.generated_at);
    offsetMinutes = parseOffset(board.generated_at);
    connected = true;
    retryMs = 500;
    render();
  };
  socket.onclose = () => {
    socket = null;
    if (!board) setBanner("lost", T.banner_lost);
    else if (connected) { connected = false; render(); }
    setTimeout(connect, retryMs + Math.random() * retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

connect();
setInterval(tick, 1000);
loadCurves();
setInterval(loadCurves, 60000);
