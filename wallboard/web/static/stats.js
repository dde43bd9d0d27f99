// /stats: the last 30 days of daily statistics per queue, newest first.
"use strict";

// The words, from the appliance's one table (wallboard/words.py), inlined in the page.
const L = JSON.parse(document.getElementById("words").textContent);
const LANG = document.documentElement.lang === "en" ? "en" : "da";

function cell(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${value.toFixed(1).replace(".", LANG === "da" ? "," : ".")} %`;
}

async function load() {
  document.getElementById("subtitle").textContent = L.stats_subtitle;
  const head = document.getElementById("head");
  for (const key of ["day", "queue", "offered", "answered", "abandoned", "sl", "asa", "peak", "longest"]) {
    head.append(cell("th", L[key]));
  }
  const reply = await fetch("/api/history");
  const history = await reply.json();
  const rows = document.getElementById("rows");
  const daily = (history.daily || []).slice().reverse();
  for (const row of daily) {
    const line = document.createElement("tr");
    for (const value of [row.day, row.queue, String(row.offered), String(row.answered),
      String(row.abandoned), percent(row.sl_pct), duration(row.asa_s),
      String(row.peak_waiting), duration(row.longest_wait_s)]) {
      line.append(cell("td", value));
    }
    rows.append(line);
  }
  const empty = document.getElementById("empty");
  empty.textContent = L.no_statistics;
  empty.hidden = daily.length > 0;
}

load();
