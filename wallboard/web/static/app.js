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
  return `${weekdayName(local.getUTCDay())} ${T.at} ${hhmm(local)}`;
}

// A Date's UTC fields (the site's time, shifted) as a time of day in the page's language.
function hhmm(shifted) {
  const hh = String(shifted.getUTCHours()).padStart(2, "0");
  const mm = String(shifted.getUTCMinutes()).padStart(2, "0");
  return clockText(`${hh}:${mm}`);
}

// "18:30" as the page's language writes a time of day: 18.30 in Danish.
function clockText(text) { return LANG === "da" ? text.replace(":", ".") : text; }

function figure(kind, label, value) {
  const box = el("div", "figure " + kind);
  box.append(el("div", "label", label), el("div", "value", value));
  return box;
}

function renderQueue(queue) {
  const card = el("article", "queue " + (queue.stale ? "stale" : queue.level || "ok"));
  card.dataset.queue = queue.queue;
  const inner = el("div", "card");
  card.append(inner);
  inner.append(el("div", "queue-name", queue.name));
  const side = el("div", "side");
  inner.append(side);
  if (queue.stale) {
    inner.append(el("div", "nodata", T.no_data));
  } else {
    const counts = el("div", "counts");
    for (const key of ["available", "busy", "paused"]) {
      const line = el("div", "count " + key);
      const n = key === "busy" ? queue.agents.busy + queue.agents.ringing + queue.agents.wrap_up
        : queue.agents[key];
      line.append(el("b", "", String(n)), document.createTextNode(" " + T["count_" + key]));
      counts.append(line);
    }
    // Agents needed now (Erlang C), beside those on the phones; "–" until it is known.
    const needed = queue.staffing ? queue.staffing.needed : null;
    const short = needed !== null && queue.staffing.serving < needed;
    const line = el("div", "count needed" + (short ? " short" : ""));
    line.append(el("b", "", needed === null ? "–" : String(needed)),
      document.createTextNode(" " + T.needed));
    counts.append(line);
    side.append(counts);
    const longest = figure("longest", T.longest, "");
    const value = longest.querySelector(".value");
    value.dataset.base = queue.longest_wait_s;
    value.dataset.ticking = queue.waiting > 0 ? "1" : "";
    inner.append(figure("waiting", T.waiting, String(queue.waiting)), longest);
    showDuration(value, queue.longest_wait_s);
    fitFigures(inner);
  }
  const today = el("div", "today");
  const t = queue.today;
  const items = [
    [T.answered, fmtNumber(t.answered, 0)],
    [T.abandoned, fmtNumber(t.abandoned, 0) + (t.abandon_pct === null ? "" : ` (${fmtNumber(t.abandon_pct, 1)} %)`)],
    [T.sl + "*", t.sl_pct === null ? "–" : fmtNumber(t.sl_pct, 0) + " %"],
    [T.asa, t.asa_s === null ? "–" : fmtDuration(t.asa_s)],
  ];
  for (const [label, value] of items) {
    const item = el("span", "", label + " ");
    item.append(el("b", "", value));
    today.append(item);
  }
  if (queue.waiting_by_municipality && queue.waiting_by_municipality.length) {
    const from = el("div", "from");
    for (const part of queue.waiting_by_municipality) {
      const name = part.name || (part.code === "000" ? T.municipality_unknown : part.code);
      const item = el("span", "from-item", name + " ");
      item.append(el("b", "", String(part.waiting)));
      from.append(item);
    }
    inner.append(from);
  }
  const forecast = queue.staffing && queue.staffing.forecast;
  if (forecast) today.append(el("span", "forecast", forecastText(forecast)));
  inner.append(today);
  return card;
}

// "Ved lukning 22.00: ca. 4 venter – sidste svar ca. 22.12"
function forecastText(forecast) {
  const clock = (iso) => clockText(iso.slice(11, 16));
  const closes = clock(forecast.closes_at);
  return forecast.waiting_at_close > 0
    ? T.forecast.replace("{closes}", closes).replace("{n}", forecast.waiting_at_close)
      .replace("{last}", clock(forecast.last_answered_at))
    : T.forecast_none.replace("{closes}", closes);
}

// The two figures' width in em of the page's bold face (digits 0.7 em, a colon 0.4 em):
// the card sizes them to fill their share of its width, however many digits they have.
function figureEms(text) {
  let ems = 0;
  for (const c of text) ems += c === ":" ? 0.4 : 0.7;
  return ems;
}

function fitFigures(card) {
  const values = [...card.querySelectorAll(".figure .value")].map((v) => v.textContent);
  const ems = Math.max(2.5, figureEms(values.join(""))).toFixed(1);
  if (card.style.getPropertyValue("--figure-em") !== ems) card.style.setProperty("--figure-em", ems);
}

// A wait grows a digit at 10 minutes and two at an hour: the figures are resized then.
function showDuration(node, seconds) {
  const text = fmtDuration(seconds);
  if (node.textContent === text) return;
  const longer = node.textContent.length !== text.length;
  node.textContent = text;
  const card = longer ? node.closest(".card") : null;
  if (card) fitFigures(card);
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
  if (agent.scheduled === false) row.classList.add("off-rota");
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
  document.getElementById("agents-title").textContent = `${T.agents_title} (${board.agents.length})`;
  renderRota();
  renderFootnote();
  layoutAgents(); // first: it may widen the agents' panel
  layoutQueues();
  fitMunicipalities();
  fitCardHeights();

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

// Today's rota under the agents: who is missing, who is coming, the standby staff, and
// who is on duty without a shift. At most a few names a group, so it never crowds them out.
const ROTA_NAMES = 5;

function shortName(name) { return shortNames(name)[0] || name; }

function renderRota() {
  const box = document.getElementById("rota");
  if (!board.rota) { box.hidden = true; box.replaceChildren(); return; }
  const groups = [
    ["missing", T.rota_missing, board.rota.filter((s) => s.status === "missing").map((s) => s.name)],
    ["expected", T.rota_expected, board.rota.filter((s) => s.status === "expected")
      .map((s) => `${s.name} ${clockText(s.start)}`)],
    ["standby", T.rota_standby, board.rota.filter((s) => s.status === "standby").map((s) => s.name)],
    ["unscheduled", T.rota_unscheduled, board.agents.filter((a) => a.scheduled === false)
      .map((a) => a.name)],
  ];
  const rows = [];
  for (const [kind, label, names] of groups) {
    if (!names.length) continue;
    const row = el("div", "rota-group " + kind);
    row.append(el("b", "", `${label}:`));
    const shown = names.slice(0, ROTA_NAMES).map((n) => kind === "expected" ? n : shortName(n));
    for (const name of shown) row.append(el("span", "rota-name", name));
    if (names.length > ROTA_NAMES) row.append(el("span", "rota-name more", `+${names.length - ROTA_NAMES}`));
    rows.push(row);
  }
  // Scheduled and logged in: how many of the shifts are on now (they are in the list above).
  const on = board.rota.filter((s) => s.status === "on").length;
  const title = `${T.rota_title}: ${board.rota.length} · ${on} ${T.rota_on}`;
  box.replaceChildren(el("div", "rota-title", title), ...rows);
  box.hidden = false;
}

// Which service level the cards show, said once under them (the "*").
function renderFootnote() {
  const first = board.queues.find((q) => q.today && q.today.sl_formula);
  const note = document.getElementById("footnote");
  if (!first) { note.textContent = ""; return; }
  const seconds = first.today.sl_threshold_s === null ? "–" : fmtNumber(first.today.sl_threshold_s, 0);
  note.textContent = "* " + T["sl_formula_" + first.today.sl_formula].replaceAll("{s}", seconds);
}

// A card with more lines than usual (who is waiting, the closing forecast) has less room
// for its figures: they shrink to the height their row has, never into the lines below.
function fitCardHeights() {
  for (const card of document.querySelectorAll(".card")) {
    card.style.removeProperty("--fit");
    const figure = card.querySelector(".figure.waiting");
    if (!figure || figure.scrollHeight <= figure.clientHeight + 1) continue;
    const value = figure.querySelector(".value");
    const room = figure.clientHeight - (figure.scrollHeight - value.offsetHeight);
    card.style.setProperty("--fit", Math.max(0.3, room / value.offsetHeight).toFixed(3));
  }
}

// As many municipalities as fit on the card's line, then "+3" for the rest.
function fitMunicipalities() {
  for (const line of document.querySelectorAll(".from")) {
    const items = [...line.querySelectorAll(".from-item")];
    const shown = line.querySelector(".from-more");
    let hidden = shown ? Number(shown.textContent.slice(1)) : 0; // a second pass counts on
    while (items.length > 1 && overflows(line)) {
      items.pop().remove();
      hidden += 1;
      let more = line.querySelector(".from-more");
      if (!more) { more = el("span", "from-more"); line.append(more); }
      more.textContent = `+${hidden}`;
    }
  }
}

// The room's layout: `?layout=` on the TV's URL, else the appliance's `[web] layout`.
const LAYOUTS = ["auto", "queues", "agents"];
const asked = new URLSearchParams(location.search).get("layout");
if (LAYOUTS.includes(asked)) document.body.dataset.layout = asked;
if (!LAYOUTS.includes(document.body.dataset.layout)) document.body.dataset.layout = "auto";

// The big figures' size in a card w×h, as style.css sets it (wide and squarer cards),
// inside the card's padding and its coloured edge (4 rem across, 1 rem down).
function figureSize(width, height, ems) {
  const inner = Math.max(1, width - 4 * rem()), tall = Math.max(1, height - rem());
  return inner / tall >= 2.4 ? Math.min(0.54 * tall, 0.58 * inner / ems)
    : Math.min(0.42 * tall, 0.86 * inner / ems);
}

// The columns of queue cards: near the biggest digits possible (within 12 %), the full
// grid whose cards are least stretched, which leaves their names and counts bigger too.
function layoutQueues() {
  const queues = document.getElementById("queues");
  const n = Math.max(1, board.queues.length);
  const width = queues.clientWidth, height = queues.clientHeight;
  if (!width || !height) return; // not laid out yet: the resize observer comes back
  // Sized for two-digit figures ("12", "12:34"), whatever they say now: the grid must not
  // flip between layouts as a queue empties and fills.
  const ems = figureEms("1212:34");
  const options = [];
  for (let columns = 1; columns <= n; columns++) {
    const cardWidth = width / columns, cardHeight = height / Math.ceil(n / columns);
    options.push({ columns, size: figureSize(cardWidth, cardHeight, ems),
      stretch: Math.abs(Math.log(cardWidth / cardHeight / 1.8)),
      full: n % columns === 0 });
  }
  const biggest = Math.max(...options.map((o) => o.size));
  // A grid with an empty cell (3 queues in 2×2) only where it gives the biggest digits.
  const bestFull = Math.max(...options.filter((o) => o.full).map((o) => o.size));
  const near = options.filter((o) => (o.full && o.size >= 0.88 * biggest)
    || (o.size === biggest && o.size > 1.05 * bestFull)); // an empty cell only for much more
  near.sort((a, b) => a.stretch - b.stretch);
  queues.style.setProperty("--columns", near[0].columns);
}

// Agents: all of them at the largest size and fewest columns that hold everyone; if even
// the smallest size in every column that fits cannot, pages that turn within 30 s.
const AGENT_SCALES = [1, 0.85, 0.72];
const COLUMN_MIN_EM = 25; // "Anne-Mette K.", its state and a time side by side
const PAGE_CYCLE_MS = 30000;
const PAGE_MAX_MS = 10000;
let agentPage = 0;
let agentPages = 1;
let pageTimer = null;
let pagePeriodMs = 0;

function rem() { return parseFloat(getComputedStyle(document.documentElement).fontSize); }

function layoutAgents() {
  const panel = document.getElementById("agents-panel");
  const list = document.getElementById("agents");
  const all = board.agents;
  const main = document.getElementById("main");
  main.classList.toggle("many-agents", all.length > 12);
  if (getComputedStyle(panel).display === "none" || !list.clientHeight) return;
  if (!all.length) {
    setAgentPages(1);
    list.style.setProperty("--rows", 1000);
    list.replaceChildren(el("li", "empty", T.no_agents));
    return;
  }
  let chosen = chooseAgentRows(list, all);
  if (!chosen.fits && !main.classList.contains("many-agents")) {
    main.classList.add("many-agents"); // a wider panel before pages
    chosen = chooseAgentRows(list, all);
  }
  list.style.setProperty("--agent-scale", chosen.scale);
  list.style.setProperty("--rows", chosen.rows);
  list.style.setProperty("--agent-columns", chosen.columns);
  const perPage = chosen.rows * chosen.columns;
  setAgentPages(Math.ceil(all.length / perPage));
  const first = agentPage * perPage;
  list.replaceChildren(...all.slice(first, first + perPage).map(renderAgent));
  for (const row of list.children) fitAgent(row);
}

// Names whole, or as people shorten them: "Anne-Mette K.", then "Anne-Mette"; never cut.
function shortNames(name) {
  const words = name.trim().split(/\s+/);
  if (words.length < 2) return [];
  const last = words[words.length - 1];
  return [`${words[0]} ${last[0]}.`, words[0]];
}

// Measured on the text itself: scrollWidth rounds, and a bold name can spill half a pixel.
function overflows(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  return range.getBoundingClientRect().width > node.getBoundingClientRect().width + 0.25;
}

function fitAgent(row) {
  const name = row.querySelector(".name");
  for (const shorter of shortNames(name.textContent)) {
    if (!overflows(name)) break;
    name.title = name.dataset.full = name.dataset.full || name.textContent;
    name.textContent = shorter;
  }
  for (let size = 1.7; overflows(name) && size > 1.05; size -= 0.1) name.style.fontSize = size.toFixed(1) + "em";
  // A long pause reason loses its last words, then itself: the state word stays.
  const state = row.querySelector(".state");
  if (overflows(state) && row.classList.contains("wrap_up")) state.textContent = T.state_wrap_up_short;
  while (overflows(state) && state.textContent.includes(" – ")) {
    const words = state.textContent.replace(/ …$/, "").split(" ");
    words.pop();
    state.textContent = words.join(" ").endsWith("–") ? words.slice(0, -1).join(" ")
      : words.join(" ") + " …";
  }
}

// The largest size, then the fewest columns, that hold everyone (or the smallest in every
// column that fits, paged).
function chooseAgentRows(list, all) {
  let chosen = null;
  for (const scale of AGENT_SCALES) {
    list.style.setProperty("--agent-scale", scale);
    list.replaceChildren(renderAgent(all[0]));
    const rowHeight = list.firstChild.getBoundingClientRect().height;
    const rows = Math.max(1, Math.floor(list.clientHeight / rowHeight));
    const maxColumns = Math.max(1, Math.floor(list.clientWidth / (COLUMN_MIN_EM * scale * rem())));
    const columns = Math.ceil(all.length / rows);
    chosen = { scale, rows, columns: Math.min(columns, maxColumns), fits: columns <= maxColumns };
    if (chosen.fits) break;
  }
  return chosen;
}

function setAgentPages(pages) {
  const panel = document.getElementById("agents-panel");
  agentPages = pages;
  if (agentPage >= pages) agentPage = 0;
  const periodMs = Math.min(PAGE_MAX_MS, Math.floor(PAGE_CYCLE_MS / pages));
  panel.dataset.pages = pages;
  panel.dataset.page = agentPage;
  panel.dataset.pageMs = periodMs;
  document.getElementById("agents-page").textContent = pages > 1 ? `${agentPage + 1}/${pages}` : "";
  // A timer only while there are pages, turning at the period for their number now.
  if (pageTimer !== null && (pages <= 1 || pagePeriodMs !== periodMs)) {
    clearInterval(pageTimer);
    pageTimer = null;
  }
  if (pages > 1 && pageTimer === null) pageTimer = setInterval(turnAgentsPage, periodMs);
  pagePeriodMs = periodMs;
}

function turnAgentsPage() {
  agentPage = (agentPage + 1) % agentPages;
  if (board) { layoutAgents(); tick(); }
}

// For tests and kiosks: turn the agents' page now instead of waiting for the timer.
window.wallboard = { turnAgentsPage };

// The space changes with the window, and inside it: a banner comes, the ticker goes.
new ResizeObserver(() => {
  if (board) { layoutAgents(); layoutQueues(); fitMunicipalities(); fitCardHeights(); tick(); }
}).observe(document.getElementById("main"));

// Once a second: clocks, and the waits that keep growing between messages.
function tick() {
  if (!board) return;
  const now = siteNow();
  document.getElementById("clock").textContent = hhmm(now);
  document.getElementById("date").textContent =
    `${weekdayName(now.getUTCDay())} ${now.getUTCDate()}.${now.getUTCMonth() + 1}.${now.getUTCFullYear()}`;
  if (!connected) return; // frozen numbers, under a banner that says so
  const grown = elapsed();
  for (const node of document.querySelectorAll("[data-ticking='1']")) {
    showDuration(node, Number(node.dataset.base) + grown);
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
    if (points && !card.classList.contains("stale")) card.querySelector(".side").append(sparkline(points));
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
