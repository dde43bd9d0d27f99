// /stats: calls and the service level in days, weeks or months, per queue or municipality,
// and the give-and-take ledger of the period. Charts are SVG drawn here: nothing from a CDN.
"use strict";

// The words, from the appliance's one table (wallboard/words.py), inlined in the page.
const L = JSON.parse(document.getElementById("words").textContent);
const LANG = document.documentElement.lang === "en" ? "en" : "da";
const SVG = "http://www.w3.org/2000/svg";
const SHOWN = 7; // keys drawn apart; the rest together as "others"
const $ = (id) => document.getElementById(id);

function node(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function svg(tag, attributes) {
  const made = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
  return made;
}

function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return value.toLocaleString(LANG === "da" ? "da-DK" : "en-GB",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function isoDay(date) { return date.toISOString().slice(0, 10); }

function setUp() {
  $("subtitle").textContent = L.stats_subtitle;
  $("from-label").textContent = L.stats_from;
  $("to-label").textContent = L.stats_to;
  for (const [value, label] of [["day", L.stats_days], ["week", L.stats_weeks], ["month", L.stats_months]]) {
    $("group").append(new Option(label, value));
  }
  for (const [value, label] of [["queue", L.stats_by_queue], ["municipality", L.stats_by_municipality]]) {
    $("by").append(new Option(label, value));
  }
  const asked = new URLSearchParams(location.search);
  const today = new Date();
  $("to").value = asked.get("to") || isoDay(today);
  $("from").value = asked.get("from") || isoDay(new Date(today - 29 * 86400000));
  $("group").value = asked.get("group") || "day";
  $("by").value = asked.get("by") || "queue";
  for (const id of ["from", "to", "group", "by"]) $(id).addEventListener("change", load);
  $("calls-title").textContent = L.stats_calls;
  $("sl-title").textContent = L.stats_sl;
  $("ledger-title").textContent = L.stats_ledger;
}

// The keys with the most calls first; beyond SHOWN they are one "others".
function keysOf(series, by) {
  const totals = new Map();
  for (const point of series) totals.set(point[by], (totals.get(point[by]) || 0) + point.offered);
  const ordered = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
  return { shown: ordered.slice(0, SHOWN), others: ordered.length > SHOWN };
}

// A municipality by name; one the shipped list does not know by its code; 000: unknown.
function placeName(code, name) {
  return name || (code === "000" ? L.municipality_unknown : code);
}

function label(point, by) {
  return by === "municipality" ? placeName(point.municipality, point.name) : point.queue;
}

function axis(chart, width, height, top, periods, left) {
  chart.append(svg("line", { x1: left, y1: height, x2: width, y2: height, class: "axis" }));
  const every = Math.max(1, Math.ceil(periods.length / 12));
  periods.forEach((period, index) => {
    if (index % every) return;
    const x = left + (index + 0.5) * (width - left) / periods.length;
    const text = svg("text", { x, y: height + 18, class: "tick", "text-anchor": "middle" });
    text.textContent = period.length === 10 ? period.slice(5) : period;
    chart.append(text);
  });
  const scale = svg("text", { x: left - 8, y: top + 4, class: "tick", "text-anchor": "end" });
  chart.append(scale);
  return scale;
}

// Calls offered per period, stacked by queue or municipality.
function drawCalls(series, by, periods, keys) {
  const chart = $("calls");
  chart.replaceChildren();
  const width = 1000, height = 290, top = 10, left = 50;
  const stacks = periods.map((period) => {
    const parts = new Map();
    for (const point of series.filter((p) => p.period === period)) {
      const key = keys.shown.includes(point[by]) ? point[by] : "others";
      parts.set(key, (parts.get(key) || 0) + point.offered);
    }
    return parts;
  });
  const peak = Math.max(1, ...stacks.map((parts) => [...parts.values()].reduce((a, b) => a + b, 0)));
  axis(chart, width, height, top, periods, left).textContent = number(peak);
  const slot = (width - left) / Math.max(1, periods.length);
  stacks.forEach((parts, index) => {
    let base = height;
    [...keys.shown, "others"].forEach((key, colour) => {
      const value = parts.get(key) || 0;
      if (!value) return;
      const tall = value / peak * (height - top);
      chart.append(svg("rect", { x: left + index * slot + slot * 0.15, y: base - tall,
        width: slot * 0.7, height: tall, class: `series-${colour}` }));
      base -= tall;
    });
  });
  const legend = $("legend");
  const names = new Map(series.map((point) => [point[by], label(point, by)]));
  legend.replaceChildren(...[...keys.shown, ...(keys.others ? ["others"] : [])].map((key, colour) => {
    const item = node("span", "legend-item");
    item.append(node("span", `swatch series-${colour}`), document.createTextNode(
      key === "others" ? L.stats_others : names.get(key)));
    return item;
  }));
}

// The service level per period, a line for each of the keys drawn apart.
function drawServiceLevel(series, by, periods, keys) {
  const chart = $("sl");
  chart.replaceChildren();
  const width = 1000, height = 210, top = 10, left = 50;
  axis(chart, width, height, top, periods, left).textContent = "100 %";
  for (const level of [50, 80]) {
    const y = height - level / 100 * (height - top);
    chart.append(svg("line", { x1: left, y1: y, x2: width, y2: y, class: "grid" }));
    const text = svg("text", { x: left - 8, y: y + 4, class: "tick", "text-anchor": "end" });
    text.textContent = `${level} %`;
    chart.append(text);
  }
  const slot = (width - left) / Math.max(1, periods.length);
  keys.shown.forEach((key, colour) => {
    const points = [];
    periods.forEach((period, index) => {
      const point = series.find((p) => p.period === period && p[by] === key);
      if (point && point.sl_pct !== null) {
        const x = (left + (index + 0.5) * slot).toFixed(1);
        const y = (height - point.sl_pct / 100 * (height - top)).toFixed(1);
        points.push(`${x},${y}`);
        chart.append(svg("circle", { cx: x, cy: y, r: 4, class: `series-${colour}` }));
      }
    });
    if (points.length > 1) {
      chart.append(svg("polyline", { points: points.join(" "), class: `line series-${colour}` }));
    }
  });
}

function drawLedger(ledger) {
  const columns = ["municipality", "offered", "answered", "abandoned", "staff_answered", "staff_hours", "balance"];
  $("ledger-head").replaceChildren(...columns.map((c) => node("th", "", L[`ledger_${c}`])));
  const rows = ledger.lines.filter((line) => line.offered || line.staff_answered || line.staff_hours)
    .map((line) => ({ ...line, municipality: placeName(line.municipality, line.name) }));
  rows.push({ ...ledger.total, municipality: L.ledger_total, total: true });
  $("ledger-rows").replaceChildren(...rows.map((line) => {
    const row = node("tr", line.total ? "total" : "");
    for (const column of columns) {
      const value = line[column];
      const text = column === "municipality" ? value
        : column === "staff_hours" ? number(value, 1)
          : column === "balance" ? (value > 0 ? "+" : value < 0 ? "−" : "") + number(Math.abs(value))
            : number(value);
      row.append(node("td", "", text));
    }
    return row;
  }));
}

let asked = 0; // the newest request: an older reply that comes later is dropped

async function load() {
  const by = $("by").value;
  const query = new URLSearchParams({ from: $("from").value, to: $("to").value,
    group: $("group").value, by });
  history.replaceState(null, "", `?${query}`);
  const mine = ++asked;
  const reply = await fetch(`/api/stats?${query}`);
  const stats = reply.ok ? await reply.json() : { series: [], ledger: null };
  if (mine !== asked) return;
  const series = stats.series || [];
  const periods = [...new Set(series.map((point) => point.period))].sort();
  const keys = keysOf(series, by);
  drawCalls(series, by, periods, keys);
  drawServiceLevel(series, by, periods, keys);
  $("sl-note").textContent = stats.sl_formula ? formulaNote(stats) : "";
  if (stats.ledger) drawLedger(stats.ledger);
  else { $("ledger-head").replaceChildren(); $("ledger-rows").replaceChildren(); }
  const empty = $("empty");
  empty.textContent = L.no_statistics;
  empty.hidden = series.length > 0;
  document.body.dataset.loaded = String(Date.now()); // for tests and screenshots
}

// Which service level the chart shows, as the wallboard's footnote says it.
function formulaNote(stats) {
  const seconds = stats.sl_threshold_s === null || stats.sl_threshold_s === undefined
    ? "–" : number(stats.sl_threshold_s);
  return L[`sl_formula_${stats.sl_formula}`].replaceAll("{s}", seconds);
}

setUp();
load();
