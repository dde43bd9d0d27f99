// /fleet: every appliance of the hotline, the ones in trouble first, read every 3 s.
"use strict";

const L = JSON.parse(document.getElementById("words").textContent);
const $ = (id) => document.getElementById(id);
const EVERY_MS = 3000;
const COLUMNS = ["fleet_state", "fleet_site", "fleet_appliance", "fleet_since", "fleet_version",
  "fleet_uptime", "fleet_feed", "fleet_broker", "fleet_problems", "fleet_rejected",
  "fleet_last_message"];

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} t`;
  return `${Math.round(s / 86400)} d`;
}

function since(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  const sameDay = when.toDateString() === new Date().toDateString();
  const time = when.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${when.toLocaleDateString(document.documentElement.lang)} ${time}`;
}

function rowOf(appliance) {
  const row = node("tr", `severity-${appliance.severity}`);
  row.dataset.key = `${appliance.site}/${appliance.appliance}`;
  const state = node("td", "ops-state");
  state.append(node("span", "dot"), node("span", "", L[`fleet_${appliance.severity}`]));
  row.append(
    state,
    node("td", "", appliance.site),
    node("td", "", appliance.appliance),
    node("td", "", since(appliance.since)),
    node("td", "", appliance.version || "–"),
    node("td", "", duration(appliance.uptime_s)),
    node("td", "", appliance.feed || "–"),
    node("td", "ops-broker", appliance.broker || "–"),
    node("td", "ops-problems", appliance.errors.join("; ") || "–"),
    node("td", "", appliance.rejected_messages ?? "–"),
    node("td", "", duration(appliance.last_message_age_s)),
  );
  return row;
}

let updated = null;

async function load() {
  try {
    const reply = await fetch("/api/fleet", { cache: "no-store" });
    if (!reply.ok) throw new Error(String(reply.status));
    const fleet = await reply.json();
    $("rows").replaceChildren(...fleet.appliances.map(rowOf));
    $("empty").hidden = fleet.appliances.length > 0;
    updated = new Date();
    $("note").textContent = "";
    document.body.classList.remove("stale");
  } catch (error) {
    // Never stale without saying so: the table stays, marked, with its time.
    document.body.classList.add("stale");
    const time = updated ? updated.toLocaleTimeString(document.documentElement.lang) : "–";
    $("note").textContent = `${L.fleet_not_updated} ${time}`;
  }
}

$("heading").textContent = L.fleet_title;
$("empty").textContent = L.fleet_none;
$("columns").replaceChildren(...COLUMNS.map((key) => node("th", "", L[key])));
// One request at a time: a slow reply is never overtaken by, or overwrites, a newer one.
(async function follow() {
  await load();
  setTimeout(follow, EVERY_MS);
})();
