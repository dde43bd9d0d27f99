// /admin: the admin token once, then ticker messages, the rota and every desk. Each change
// is a same-origin POST with the session's CSRF token; the session is an HttpOnly cookie.
"use strict";

const L = JSON.parse(document.getElementById("words").textContent);
const $ = (id) => document.getElementById(id);
let csrf = null;

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

function say(id, text, ok) {
  const result = $(id);
  result.textContent = text;
  result.className = `ops-result ${ok ? "ok" : "error"}`;
}

async function change(path, body, headers = {}) {
  const reply = await fetch(path, {
    method: "POST",
    headers: { "X-CSRF-Token": csrf, ...headers },
    body,
  });
  if (reply.status === 401) showLogin();
  const text = await reply.text();
  if (!reply.ok) throw new Error(text || String(reply.status));
  return JSON.parse(text);
}

const json = (value) => [JSON.stringify(value), { "Content-Type": "application/json" }];

function showLogin() {
  csrf = null;
  $("admin-section").hidden = true;
  $("logout").hidden = true;
  $("login-section").hidden = false;
  $("token").focus();
}

function showAdmin(session) {
  csrf = session.csrf;
  $("login-section").hidden = true;
  $("admin-section").hidden = false;
  $("logout").hidden = false;
  const own = session.site || "all";
  $("target").replaceChildren(
    new Option(own, own),
    ...(own === "all" ? [] : [new Option(L.admin_all_sites, "all")]),
  );
  loadDesks();
}

async function start() {
  try {
    const reply = await fetch("/admin/api/session", { cache: "no-store" });
    if (reply.ok) showAdmin(await reply.json());
    else showLogin();
  } catch (error) {
    showLogin();
    say("login-result", `${L.admin_failed} ${error.message}`, false);
  }
}

async function login() {
  let reply;
  try {
    reply = await fetch("/admin/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: $("token").value }),
    });
  } catch (error) {
    say("login-result", `${L.admin_failed} ${error.message}`, false);
    return;
  }
  $("token").value = "";
  if (reply.ok) {
    say("login-result", "", true);
    showAdmin(await reply.json());
  } else {
    say("login-result", reply.status === 401 ? L.admin_wrong_token : await reply.text(), false);
  }
}

async function post(clear) {
  const until = $("until").value;
  const body = clear ? { target: $("target").value, clear: true } : {
    target: $("target").value,
    text: $("text").value,
    level: $("level").value,
    expires: until ? new Date(until).toISOString() : null,
  };
  try {
    await change("/admin/api/message", ...json(body));
    say("message-result", clear ? L.admin_cleared : L.admin_posted, true);
    if (!clear) $("text").value = "";
  } catch (error) {
    say("message-result", `${L.admin_failed} ${error.message}`, false);
  }
}

async function publishRota() {
  const file = $("rota-file").files[0];
  if (!file) return;
  try {
    const answer = await change("/admin/api/rota", await file.arrayBuffer(),
      { "Content-Type": "application/octet-stream", "X-File-Name": encodeURIComponent(file.name) });
    const days = answer.days.map((day) => `${day.date} (${day.shifts})`).join(", ");
    say("rota-result", `${L.admin_rota_published} ${days}`, true);
  } catch (error) {
    say("rota-result", `${L.admin_failed} ${error.message}`, false);
  }
}

async function loadDesks() {
  const reply = await fetch("/api/desks", { cache: "no-store" });
  if (!reply.ok) return;
  const { desks } = await reply.json();
  $("desks").replaceChildren(...desks.map((desk) => {
    const row = node("tr");
    const picture = node("img", "ops-desk-screen");
    picture.src = `/api/desks/${encodeURIComponent(desk.desk)}/screen.png?t=${Date.now()}`;
    picture.alt = (desk.screen && desk.screen.lines || []).join(" / ");
    const screen = node("td");
    screen.append(picture);
    row.append(node("td", "", desk.desk), node("td", "", desk.agent || "–"),
      node("td", "", desk.state || "–"), node("td", "", desk.light || "–"), screen);
    return row;
  }));
}

$("heading").textContent = L.admin_title;
for (const [id, key] of [["token-label", "admin_token"], ["login", "admin_login"],
  ["logout", "admin_logout"], ["message-title", "admin_message"], ["target-label", "admin_target"],
  ["text-label", "admin_text"], ["level-label", "admin_level"], ["until-label", "admin_until"],
  ["post", "admin_post"], ["clear", "admin_clear"], ["rota-title", "admin_rota"],
  ["rota-label", "admin_rota_file"], ["rota-publish", "admin_rota_publish"],
  ["desks-title", "admin_desks"]]) {
  $(id).textContent = L[key];
}
$("level").replaceChildren(new Option(L.admin_level_info, "info"),
  new Option(L.admin_level_warning, "warning"));
$("login").addEventListener("click", login);
$("token").addEventListener("keydown", (event) => { if (event.key === "Enter") login(); });
$("post").addEventListener("click", () => post(false));
$("clear").addEventListener("click", () => post(true));
$("rota-publish").addEventListener("click", publishRota);
$("logout").addEventListener("click", async () => {
  try { await change("/admin/logout", ""); } finally { showLogin(); }
});
setInterval(() => { if (csrf) loadDesks(); }, 5000);
start();
