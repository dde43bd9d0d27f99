// The wallboard page: a whole board from /ws, then deltas applied to the page in place
// (cards and rows are kept and refilled, never rebuilt); the times tick on between
// messages (ticking.js). Text always goes in as textContent.
"use strict";

// The words, from the appliance's one table (wallboard/words.py), inlined in the page.
const T = JSON.parse(document.getElementById("words").textContent);
const LANG = document.documentElement.lang === "en" ? "en" : "da";
// JavaScript counts days from Sunday; the table from Monday, as Python does.
const weekdayName = (jsDay) => T[`weekday_${(jsDay + 6) % 7}`];
const QUIET_LIMIT_MS = 75000; // the appliance sends at least every 30 s

let board = null; // the board as this page knows it: the snapshot with the deltas applied
let number = 0; // the last delta applied (or the snapshot's)
let awaitingSnapshot = true;
let receivedAt = 0; // performance.now() when the last message arrived
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

// --- the board: a snapshot, then deltas --------------------------------------------------

// Who can take a call first, then by name: the appliance's order (wallboard/view.py).
const STATE_ORDER = { available: 0, ringing: 1, busy: 2, wrap_up: 3, paused: 4 };
function agentBefore(a, b) {
  const ra = STATE_ORDER[a.state] ?? 9, rb = STATE_ORDER[b.state] ?? 9;
  if (ra !== rb) return ra < rb;
  if (a.name !== b.name) return a.name < b.name;
  return a.agent < b.agent;
}
function agentIndex(list, agent) { // the first index whose agent does not come before
  let low = 0, high = list.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (agentBefore(list[mid], agent)) low = mid + 1; else high = mid;
  }
  return low;
}
function removeAgent(list, agent) {
  const at = agentIndex(list, agent);
  const found = list[at] === agent ? at : list.indexOf(agent);
  if (found >= 0) list.splice(found, 1);
}

const agentsById = new Map();
const zeroAt = new Map(); // "a:" or "q:" + id → performance.now() when its time was 0

function anchor(kind, id, seconds) {
  if (seconds === null || seconds === undefined) zeroAt.delete(kind + id);
  else zeroAt.set(kind + id, receivedAt - seconds * 1000);
}

const EVERYTHING = { all: true };

function takeSnapshot(message) {
  board = message.board;
  board.agents.sort((a, b) => (agentBefore(a, b) ? -1 : agentBefore(b, a) ? 1 : 0));
  number = message.n;
  awaitingSnapshot = false;
  agentsById.clear();
  zeroAt.clear();
  for (const agent of board.agents) { agentsById.set(agent.agent, agent); anchor("a:", agent.agent, agent.in_state_s); }
  for (const queue of board.queues) anchor("q:", queue.queue, queue.longest_wait_s);
  update(EVERYTHING);
}

function applyDelta(delta) {
  const changed = { header: false, queues: new Set(), order: false, agents: new Set(), count: false,
    ticker: "ticker" in delta, rota: "rota" in delta };
  for (const key of ["feed", "open", "next_open"]) {
    if (key in delta) { board[key] = delta[key]; changed.header = true; }
  }
  if ("clock_sure" in delta) board.clock_sure = delta.clock_sure;
  board.generated_at = delta.generated_at;
  if ("ticker" in delta) board.ticker = delta.ticker;
  if ("rota" in delta) board.rota = delta.rota;
  const byId = new Map(board.queues.map((q) => [q.queue, q]));
  for (const queue of delta.queues || []) {
    byId.set(queue.queue, queue);
    anchor("q:", queue.queue, queue.longest_wait_s);
    changed.queues.add(queue.queue);
  }
  if (delta.queue_order) {
    board.queues = delta.queue_order.filter((id) => byId.has(id)).map((id) => byId.get(id));
    changed.order = true;
  } else board.queues = board.queues.map((q) => byId.get(q.queue));
  for (const id of delta.agents_removed || []) {
    const old = agentsById.get(id);
    if (!old) continue;
    removeAgent(board.agents, old);
    agentsById.delete(id);
    zeroAt.delete("a:" + id);
    changed.count = true;
  }
  for (const agent of delta.agents || []) {
    const old = agentsById.get(agent.agent);
    if (old) removeAgent(board.agents, old);
    else changed.count = true;
    board.agents.splice(agentIndex(board.agents, agent), 0, agent);
    agentsById.set(agent.agent, agent);
    anchor("a:", agent.agent, agent.in_state_s);
    changed.agents.add(agent.agent);
  }
  update(changed);
}

function onMessage(message) {
  receivedAt = performance.now();
  const stamp = message.type === "board" ? message.board.generated_at : message.generated_at;
  serverMs = Date.parse(stamp);
  const offset = parseOffset(stamp);
  const moved = offset !== offsetMinutes;
  offsetMinutes = offset;
  watchQuiet();
  if (message.type === "board") {
    const wasConnected = connected;
    connected = true;
    const unsure = board && board.clock_sure === false;
    takeSnapshot(message);
    if (!wasConnected || moved || unsure !== (board.clock_sure === false)) showClock();
    return;
  }
  if (message.type !== "delta" || awaitingSnapshot || message.n <= number) return;
  if (message.n !== number + 1) { askSnapshot(); return; } // one was missed
  number = message.n;
  applyDelta(message);
  ticking.withMessage();
  if (moved || "clock_sure" in message) showClock();
}

function askSnapshot() {
  awaitingSnapshot = true;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send("resync");
}

// --- drawing what changed ------------------------------------------------------------------

function update(changed) {
  const all = changed === EVERYTHING;
  document.body.classList.toggle("frozen", !connected);
  if (all || changed.header) showHeader();
  if (all || changed.order) placeQueues();
  const cards = all || changed.order ? [...document.querySelectorAll("#queues .queue")]
    : [...changed.queues].map(queueCard).filter(Boolean);
  const reshaped = cards.filter((card) => fillQueue(card, queueById(card.dataset.queue)) || all);
  if (all || changed.order || changed.queues.size) renderFootnote();
  if (all || changed.count) {
    document.getElementById("agents-title").textContent = `${T.agents_title} (${board.agents.length})`;
    layoutAgents(); // first: it may widen the agents' panel
  } else if (changed.agents.size) showAgentsPage();
  const regridded = (all || changed.order || changed.count) && layoutQueues();
  if (all || changed.rota || changed.agents.size || changed.count) renderRota();
  for (const card of regridded ? document.querySelectorAll("#queues .queue") : reshaped) {
    fitMunicipalities(card);
    fitCardHeight(card);
  }
  if (all || changed.ticker) showTicker();
  if (all || changed.order) drawCurves();
  if (cards.length) curvesWanted();
}

function showHeader() {
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
}

// The ticker: each message in turn, in pieces that fit the bar, each shown long enough
// to read. Static, and swapped without a fade: a scrolling line (or a fade) keeps a kiosk
// without a GPU drawing 60 frames a second, costs every change meanwhile up to a frame,
// and is harder to read from across a room.
let tickerPieces = [];
let tickerAt = 0;
let tickerTimer = null;

function showTicker(resized) {
  const ticker = document.getElementById("ticker");
  const key = JSON.stringify(board.ticker);
  if (ticker.dataset.key === key && !resized) return; // unchanged: it keeps its place
  ticker.dataset.key = key;
  ticker.hidden = !board.ticker.length;
  ticker.className = "ticker" + (board.ticker.some((m) => m.level === "warning") ? " warning" : "");
  if (tickerTimer !== null) { clearTimeout(tickerTimer); tickerTimer = null; }
  const text = document.getElementById("ticker-text");
  if (!board.ticker.length) { text.textContent = ""; return; }
  tickerPieces = board.ticker.flatMap((m) => fitPieces(m.text, text, ticker.clientWidth));
  if (!resized || tickerAt >= tickerPieces.length) tickerAt = 0;
  showPiece();
}

function showPiece() {
  const text = document.getElementById("ticker-text");
  const piece = tickerPieces[tickerAt];
  text.textContent = piece;
  if (tickerPieces.length < 2) return; // one piece: it stays, and nothing runs
  const words = piece.split(" ").length;
  tickerTimer = setTimeout(() => {
    tickerAt = (tickerAt + 1) % tickerPieces.length;
    showPiece();
  }, Math.max(5000, words * 450));
}

// A message as lines that fit `width` in the ticker's font, broken between words.
function fitPieces(message, node, width) {
  const style = getComputedStyle(node);
  const room = 0.97 * (width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const pieces = [];
  let line = "";
  for (const word of message.split(/\s+/).filter(Boolean)) {
    const longer = line ? `${line} ${word}` : word;
    if (line && measure.measureText(longer).width > room) { pieces.push(line); line = word; }
    else line = longer;
  }
  if (line) pieces.push(line);
  return pieces;
}

function setBanner(kind, text) {
  const banner = document.getElementById("banner");
  banner.className = "banner " + kind;
  banner.textContent = text;
  banner.hidden = !text;
}

// The site's clock and date, from the appliance's: a TV with a wrong clock still shows it
// right. Redrawn as its minute changes, and when a message moves it.
function siteNow() {
  return new Date(serverMs + (performance.now() - receivedAt) + offsetMinutes * 60000);
}

function showClock() {
  ticking.clock(() => {
    const now = siteNow();
    if (board && board.clock_sure === false) { // a Pi not yet synchronised: no wrong day
      setText(document.getElementById("clock"), clockText("--:--"));
      setText(document.getElementById("date"), T.clock_unsure);
      return now.getUTCSeconds();
    }
    setText(document.getElementById("clock"), hhmm(now));
    setText(document.getElementById("date"),
      `${weekdayName(now.getUTCDay())} ${now.getUTCDate()}.${now.getUTCMonth() + 1}.${now.getUTCFullYear()}`);
    return now.getUTCSeconds() + now.getUTCMilliseconds() / 1000;
  });
}

// A time that ticks from its anchor while the numbers are live, else still text.
function showTime(node, key, ticks) {
  const zero = zeroAt.get(key);
  if (zero === undefined) ticking.still(node, "–");
  else if (!ticks || !connected) ticking.still(node, fmtDuration((receivedAt - zero) / 1000));
  else ticking.duration(node, zero, fmtDuration, refitCard);
}

// A wait grows a digit at 10 minutes and two at an hour: its card's figures are resized.
function refitCard(node) {
  const card = node.closest(".card");
  if (card) fitFigures(card);
}

// --- queue cards: made once per queue, then refilled -----------------------------------

function queueById(id) { return board.queues.find((q) => q.queue === id); }
function queueCard(id) { return document.querySelector(`#queues .queue[data-queue="${CSS.escape(id)}"]`); }

function figure(kind, label) {
  const box = el("div", "figure " + kind);
  box.append(el("div", "label", label), el("div", "value"));
  return box;
}

function countLine(key, label) {
  const line = el("div", "count " + key);
  line.append(el("b"), document.createTextNode(" " + label));
  return line;
}

function newQueueCard(id) {
  const card = el("article", "queue");
  card.dataset.queue = id;
  const inner = el("div", "card");
  card.append(inner);
  const counts = el("div", "counts");
  counts.append(countLine("available", T.count_available), countLine("busy", T.count_busy),
    countLine("paused", T.count_paused), countLine("needed", T.needed));
  const side = el("div", "side");
  side.append(counts);
  const today = el("div", "today");
  for (const [key, label] of [["answered", T.answered], ["abandoned", T.abandoned],
    ["sl", T.sl + "*"], ["asa", T.asa]]) {
    const item = el("span", "today-" + key, label + " ");
    item.append(el("b"));
    today.append(item);
  }
  today.append(el("span", "forecast"));
  inner.append(el("div", "queue-name"), side, el("div", "nodata", T.no_data),
    figure("waiting", T.waiting), figure("longest", T.longest), el("div", "from"), today);
  return card;
}

// The cards in the board's order: kept where they are, new ones made, gone ones removed.
function placeQueues() {
  const box = document.getElementById("queues");
  if (!board.queues.length) { box.replaceChildren(el("div", "empty", T.no_queues)); return; }
  const kept = new Map([...box.querySelectorAll(".queue")].map((card) => [card.dataset.queue, card]));
  const cards = board.queues.map((q) => kept.get(q.queue) || newQueueCard(q.queue));
  const same = cards.length === box.children.length && cards.every((card, i) => box.children[i] === card);
  if (!same) box.replaceChildren(...cards);
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

function fillQueue(card, queue) {
  const inner = card.firstChild;
  card.className = "queue " + (queue.stale ? "stale" : queue.level || "ok");
  setText(inner.querySelector(".queue-name"), queue.name);
  inner.querySelector(".nodata").hidden = !queue.stale;
  inner.querySelector(".counts").hidden = queue.stale;
  for (const kind of ["waiting", "longest"]) inner.querySelector(".figure." + kind).hidden = queue.stale;
  if (!queue.stale) {
    const agents = queue.agents;
    const counts = { available: agents.available, paused: agents.paused,
      busy: agents.busy + agents.ringing + agents.wrap_up };
    for (const [key, n] of Object.entries(counts)) setText(inner.querySelector(`.count.${key} b`), String(n));
    // Agents needed now (Erlang C), beside those on the phones; "–" until it is known.
    const needed = queue.staffing ? queue.staffing.needed : null;
    const line = inner.querySelector(".count.needed");
    line.classList.toggle("short", needed !== null && queue.staffing.serving < needed);
    setText(line.querySelector("b"), needed === null ? "–" : String(needed));
    setText(inner.querySelector(".figure.waiting .value"), String(queue.waiting));
    showTime(inner.querySelector(".figure.longest .value"), "q:" + queue.queue, queue.waiting > 0);
  }
  const t = queue.today;
  setText(inner.querySelector(".today-answered b"), fmtNumber(t.answered, 0));
  setText(inner.querySelector(".today-abandoned b"), fmtNumber(t.abandoned, 0)
    + (t.abandon_pct === null ? "" : ` (${fmtNumber(t.abandon_pct, 1)} %)`));
  setText(inner.querySelector(".today-sl b"), t.sl_pct === null ? "–" : fmtNumber(t.sl_pct, 0) + " %");
  setText(inner.querySelector(".today-asa b"), t.asa_s === null ? "–" : fmtDuration(t.asa_s));
  const forecast = queue.staffing && queue.staffing.forecast;
  const forecastLine = inner.querySelector(".forecast");
  forecastLine.hidden = !forecast;
  setText(forecastLine, forecast ? forecastText(forecast) : "");
  const from = inner.querySelector(".from");
  const parts = queue.waiting_by_municipality || [];
  const said = JSON.stringify(parts);
  if (from.dataset.parts !== said) {
    from.dataset.parts = said;
    from.hidden = !parts.length;
    from.replaceChildren(...parts.map((part) => {
      const name = part.name || (part.code === "000" ? T.municipality_unknown : part.code);
      const item = el("span", "from-item", name + " ");
      item.append(el("b", "", String(part.waiting)));
      return item;
    }));
  }
  const spark = inner.querySelector(".spark");
  if (spark) spark.hidden = queue.stale;
  fitFigures(inner);
  // Its lines (who is waiting, the forecast) decide the room its figures have: measured
  // again only when they changed, never for a count (a layout forced per message).
  const shape = `${queue.stale}|${said}|${!!forecast}`;
  const reshaped = card.dataset.shape !== shape;
  card.dataset.shape = shape;
  return reshaped;
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

// --- agent rows: one per agent, refilled when the agent changes --------------------------

const rows = new Map(); // agent id → its row (kept while the agent is on the board)

function agentRow(agent) {
  let row = rows.get(agent.agent);
  if (!row) {
    row = newAgentRow("agent");
    row.dataset.agent = agent.agent;
    rows.set(agent.agent, row);
  }
  if (row._agent !== agent) {
    // Refitted (measured) only when what is written changed, not for a new time.
    const before = row._agent;
    if (!before || before.name !== agent.name || before.state !== agent.state
      || before.reason !== agent.reason) row._fitted = false;
    row._agent = agent;
    row._filled = false;
  }
  return row;
}

function fillAgent(row) {
  const agent = row._agent;
  row.className = "agent " + agent.state + (agent.scheduled === false ? " off-rota" : "");
  // null: the phone system's clock could not be believed, so the time is unknown.
  showTime(row.querySelector(".time"), "a:" + agent.agent, agent.in_state_s !== null);
  row._filled = true;
  if (row._fitted) return;
  const name = row.querySelector(".name");
  name.style.fontSize = "";
  name.removeAttribute("title");
  delete name.dataset.full;
  setText(name, agent.name);
  setText(row.querySelector(".state"), T["state_" + agent.state] + (agent.reason ? " – " + agent.reason : ""));
  fitAgent(row);
  row._fitted = true;
}

function newAgentRow(className, name, time, state) {
  const row = el("li", className);
  row.append(el("span", "dot"), el("span", "name", name), el("span", "time", time),
    el("span", "state", state));
  return row;
}

// A probe row for measuring, never shown.
function renderAgent(agent) {
  return newAgentRow("agent " + agent.state, agent.name, "0:00", T["state_" + agent.state]);
}

function forgetGoneRows() {
  for (const id of rows.keys()) if (!agentsById.has(id)) rows.delete(id);
}

// The page of agents shown now; rows that changed are refilled, the rest stay as they are.
function showAgentsPage() {
  const list = document.getElementById("agents");
  const perPage = Number(list.dataset.perPage || 0);
  if (!perPage) { layoutAgents(); return; }
  const first = agentPage * perPage;
  const wanted = board.agents.slice(first, first + perPage).map(agentRow);
  const same = wanted.length === list.children.length && wanted.every((row, i) => list.children[i] === row);
  if (!same) {
    // A row that leaves the page stops ticking; it is filled again when it comes back.
    const staying = new Set(wanted);
    for (const row of list.children) if (!staying.has(row)) row._filled = false;
    list.replaceChildren(...wanted);
  }
  for (const row of wanted) if (!row._fitted || !row._filled) fillAgent(row);
}

// Today's rota under the agents: who is missing, who is coming, the standby staff, and
// who is on duty without a shift. At most a few names a group, so it never crowds them out.
const ROTA_NAMES = 5;

function shortName(name) { return shortNames(name)[0] || name; }

function renderRota() {
  const box = document.getElementById("rota");
  if (!board) return;
  if (!board.rota) { box.hidden = true; box.replaceChildren(); delete box.dataset.said; return; }
  const groups = [
    ["missing", T.rota_missing, board.rota.filter((s) => s.status === "missing").map((s) => s.name)],
    ["expected", T.rota_expected, board.rota.filter((s) => s.status === "expected")
      .map((s) => `${s.name} ${clockText(s.start)}`)],
    ["standby", T.rota_standby, board.rota.filter((s) => s.status === "standby").map((s) => s.name)],
    ["unscheduled", T.rota_unscheduled, board.agents.filter((a) => a.scheduled === false)
      .map((a) => a.name)],
  ];
  // Scheduled and logged in: how many of the shifts are on now (they are in the list above).
  const on = board.rota.filter((s) => s.status === "on").length;
  const title = `${T.rota_title}: ${board.rota.length} · ${on} ${T.rota_on}`;
  const said = JSON.stringify([title, groups]);
  if (box.dataset.said === said && !box.hidden) return; // as it stands: left alone
  box.dataset.said = said;
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
  box.replaceChildren(el("div", "rota-title", title), ...rows);
  box.hidden = false;
}

// Which service level the cards show, said once under them (the "*").
function renderFootnote() {
  const first = board.queues.find((q) => q.today && q.today.sl_formula);
  const note = document.getElementById("footnote");
  if (!first) { setText(note, ""); return; }
  const seconds = first.today.sl_threshold_s === null ? "–" : fmtNumber(first.today.sl_threshold_s, 0);
  setText(note, "* " + T["sl_formula_" + first.today.sl_formula].replaceAll("{s}", seconds));
}

// A card with more lines than usual (who is waiting, the closing forecast) has less room
// for its figures: they shrink to the height their row has, never into the lines below.
function fitCardHeight(queueCard) {
  const card = queueCard.firstChild;
  card.style.removeProperty("--fit");
  const figure = card.querySelector(".figure.waiting");
  if (figure.hidden || figure.scrollHeight <= figure.clientHeight + 1) return;
  const value = figure.querySelector(".value");
  const room = figure.clientHeight - (figure.scrollHeight - value.offsetHeight);
  card.style.setProperty("--fit", Math.max(0.3, room / value.offsetHeight).toFixed(3));
}

// As many municipalities as fit on the card's line, then "+3" for the rest.
function fitMunicipalities(queueCard) {
  const line = queueCard.querySelector(".from");
  if (line.hidden) return;
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

function fitCards() {
  for (const card of document.querySelectorAll("#queues .queue")) {
    fitMunicipalities(card);
    fitCardHeight(card);
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
  if (!width || !height) return false; // not laid out yet: the resize observer comes back
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
  const columns = String(near[0].columns);
  if (queues.style.getPropertyValue("--columns") === columns) return false;
  queues.style.setProperty("--columns", columns);
  return true; // the cards have another size: their lines are fitted again
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
  forgetGoneRows();
  list.dataset.perPage = 0;
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
  list.dataset.perPage = perPage;
  list.replaceChildren();
  for (const row of rows.values()) row._fitted = false; // the rows' size may have changed
  showAgentsPage();
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
  if (board) {
    setAgentPages(agentPages);
    showAgentsPage();
  }
}

// For tests and kiosks: turn the agents' page now instead of waiting for the timer; the
// number of times ticking and timers pending, to see that an idle page is idle.
window.wallboard = { turnAgentsPage, number: () => number, ticking: ticking.count };

// The space changes with the window, and inside it: a banner comes, the ticker goes.
new ResizeObserver(() => {
  if (board) { layoutAgents(); layoutQueues(); fitCards(); }
}).observe(document.getElementById("main"));
new ResizeObserver(() => { if (board) showTicker(true); }).observe(document.getElementById("ticker"));


// Today's curve of waiting callers per queue, from /api/history: fetched when the board
// has changed, at most once a minute (a quiet board fetches nothing).
let curves = {};
let curvesAt = -Infinity;
let curvesTimer = null;
const CURVES_EVERY_MS = 60000;
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
  for (const card of document.querySelectorAll("#queues .queue")) {
    const old = card.querySelector(".spark");
    if (old) old.remove();
    const points = curves[card.dataset.queue];
    if (points && !card.classList.contains("stale")) card.querySelector(".side").append(sparkline(points));
  }
}

function curvesWanted() {
  if (curvesTimer !== null) return;
  curvesTimer = setTimeout(loadCurves, Math.max(0, curvesAt + CURVES_EVERY_MS - performance.now()));
}

async function loadCurves() {
  curvesAt = performance.now();
  try {
    const reply = await fetch("/api/history");
    if (reply.ok) curves = (await reply.json()).today || {};
  } catch (error) {
    curves = {};
  } finally {
    curvesTimer = null;
  }
  drawCurves();
}

let socket = null;
let retryMs = 500;
let quietTimer = null;

// The appliance sends at least every 30 s: silence past the limit is a lost appliance.
function watchQuiet() {
  if (quietTimer !== null) clearTimeout(quietTimer);
  quietTimer = setTimeout(() => { if (socket) socket.close(); }, QUIET_LIMIT_MS);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  awaitingSnapshot = true;
  socket.onmessage = (event) => {
    retryMs = 500;
    onMessage(JSON.parse(event.data));
  };
  socket.onclose = () => {
    socket = null;
    awaitingSnapshot = true;
    if (quietTimer !== null) { clearTimeout(quietTimer); quietTimer = null; }
    if (!board) setBanner("lost", T.banner_lost);
    else if (connected) { connected = false; update(EVERYTHING); }
    setTimeout(connect, retryMs + Math.random() * retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

connect();
loadCurves();
