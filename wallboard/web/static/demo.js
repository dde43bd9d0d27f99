// The demo page: the LED sign and each desk's OLED and LED follow the appliance; the
// buttons press a desk's button as an agent would (a short press, or a hold).
"use strict";

const LIGHTS = { green: "#2ecc71", red: "#ff4d4d", amber: "#f5b700", off: "#333",
  pending: "#3fa7ff", error: "#ff00ff" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function press(desk, hold) {
  await fetch(`/demo/desks/${desk}/press${hold ? "?hold=1" : ""}`, { method: "POST" });
  refresh();
}

function renderDesk(desk) {
  const box = el("section", "desk");
  const head = el("div", "desk-head");
  const led = el("span", `led ${desk.light}`);
  led.style.setProperty("--led", LIGHTS[desk.light] || "#333");
  head.append(led, el("b", "", desk.desk), el("span", "", desk.agent ? ` ${desk.agent_name} – ${desk.state}` : " (ingen agent)"));
  const screen = el("img", "oled");
  screen.src = `/api/desks/${desk.desk}/screen.png?scale=3&t=${Date.now()}`;
  screen.alt = `OLED at ${desk.desk}`;
  const buttons = el("div", "buttons");
  const tap = el("button", "", "Tryk");
  tap.addEventListener("click", () => press(desk.desk, false));
  const hold = el("button", "", "Hold (frokost)");
  hold.addEventListener("click", () => press(desk.desk, true));
  buttons.append(tap, hold);
  box.append(head, screen, buttons);
  if (desk.message) box.append(el("div", "message", desk.message));
  return box;
}

async function refresh() {
  document.getElementById("sign").src = `/demo/sign.png?t=${Date.now()}`;
  try {
    const reply = await fetch("/api/desks");
    const { desks } = await reply.json();
    document.getElementById("desks").replaceChildren(...desks.map(renderDesk));
  } catch (error) {
    // the demo is stopping; the next round tries again
  }
}

refresh();
setInterval(refresh, 1000);
