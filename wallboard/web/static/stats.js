// /stats: the last 30 days of daily statistics per queue, newest first.
"use strict";

const LABELS = {
  da: {
    subtitle: "Statistik for de seneste 30 dage", day: "Dag", queue: "Kø", offered: "Kald",
    answered: "Besvaret", abandoned: "Opgivet", sl: "Serviceniveau", asa: "Gns. svartid",
    peak: "Flest ventende", longest: "Længste ventetid", none: "Ingen statistik endnu.",
  },
  en: {
    subtitle: "Statistics for the last 30 days", day: "Day", queue: "Queue", offered: "Calls",
    answered: "Answered", abandoned: "Abandoned", sl: "Service level", asa: "Avg. answer",
    peak: "Most waiting", longest: "Longest wait", none: "No statistics yet.",
  },
};
const LANG = LABELS[document.documentElement.lang] ? document.documentElement.lang : "da";
const L = LABELS[LANG];

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
  document.getElementById("subtitle").textContent = L.subtitle;
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
  empty.textContent = L.none;
  empty.hidden = daily.length > 0;
}

load();
