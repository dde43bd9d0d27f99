// Times that tick on by themselves (the clock, a queue's longest wait, an agent's time in
// state) without a timer: each digit group is a strip of its values in a one-line window,
// moved a line a step by a CSS animation of `transform`, which the compositor runs. The
// page only works when a time changes its shape ("9:59" to "10:00", "59:59" to
// "1:00:00", midnight): one timeout for the earliest of those, and none while nothing
// is shown that ticks.
"use strict";

const rolls = (() => {
  const pad = (n) => String(n).padStart(2, "0");
  const range = (from, to, format) => Array.from({ length: to - from + 1 }, (_, i) => format(from + i));
  const SIXTY = range(0, 59, pad).join("\n"); // 00 … 59
  const MINUTES = range(0, 9, String).join("\n"); // m under ten minutes
  const TENS = range(10, 59, String).join("\n"); // mm from ten minutes
  const HOURS = range(1, 9, String).join("\n"); // h from an hour
  const DAY = range(0, 23, pad).join("\n"); // the clock's hours

  // A window on `strip` (values "\n"-separated, each shown `stepS` seconds), `atS`
  // seconds into it; a strip that does not repeat stays on its last value.
  function roll(strip, count, stepS, atS, repeat) {
    const window = document.createElement("span");
    window.className = "roll";
    window.setAttribute("aria-hidden", "true");
    const values = document.createElement("span");
    values.className = "strip";
    values.textContent = strip;
    const period = count * stepS;
    const into = repeat ? atS % period : Math.min(atS, period - 0.001);
    values.style.animation = `roll ${period}s steps(${count}) ${-into.toFixed(3)}s `
      + (repeat ? "infinite" : "1 forwards");
    window.append(values);
    return window;
  }

  // "m:ss", "mm:ss" or "h:mm:ss" for `t` seconds, as parts, and when that shape ends.
  function durationParts(t) {
    const parts = [];
    let endsAt;
    if (t < 600) {
      parts.push(roll(MINUTES, 10, 60, t, false), ":");
      endsAt = 600;
    } else if (t < 3600) {
      parts.push(roll(TENS, 50, 60, t - 600, false), ":");
      endsAt = 3600;
    } else {
      const hours = Math.floor(t / 3600);
      parts.push(hours < 10 ? roll(HOURS, 9, 3600, t - 3600, false) : String(hours), ":");
      parts.push(roll(SIXTY, 60, 60, t, true), ":");
      endsAt = hours < 10 ? 36000 : (hours + 1) * 3600;
    }
    parts.push(roll(SIXTY, 60, 1, t, true));
    return { parts, endsAt };
  }

  const shown = new Set(); // nodes that tick, each with the time it changes shape
  let timer = null;

  function schedule() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    let next = Infinity;
    for (const node of shown) {
      if (!node.isConnected) shown.delete(node);
      else next = Math.min(next, node._reshapeAt);
    }
    if (next < Infinity) timer = setTimeout(reshape, Math.max(0, next - performance.now()) + 5);
  }

  function reshape() {
    timer = null;
    const now = performance.now();
    for (const node of [...shown]) if (node._reshapeAt <= now) node._draw();
    schedule();
  }

  function track(node, reshapeAt, draw) {
    node._reshapeAt = reshapeAt;
    node._draw = draw;
    shown.add(node);
  }

  // `node` shows a duration that was 0 at `zeroAt` (performance.now() ms) and ticks on;
  // `text` is what it says now (for fitting, and for a reader of the page).
  function duration(node, zeroAt, format) {
    const textNow = () => format(Math.max(0, (performance.now() - zeroAt) / 1000));
    const draw = () => {
      const t = Math.max(0, (performance.now() - zeroAt) / 1000);
      const { parts, endsAt } = durationParts(t);
      node.replaceChildren(...parts);
      node.dataset.text = textNow();
      node._textNow = textNow;
      track(node, zeroAt + endsAt * 1000, draw);
    };
    draw();
    schedule();
  }

  // A time that does not tick: plain text, and no longer among the ticking.
  function still(node, text) {
    shown.delete(node);
    node._draw = node._textNow = null;
    if (node.textContent !== text || node.firstElementChild) node.textContent = text;
    node.dataset.text = text;
  }

  // The site's clock, "18.30": `secondsOfDay()` is the site's time of day now, `text()` it
  // written out; redrawn at midnight (and when the appliance's offset changes).
  function clock(node, secondsOfDay, separator, text, onMidnight) {
    const draw = () => {
      const t = secondsOfDay();
      node.replaceChildren(roll(DAY, 24, 3600, t, true), separator, roll(SIXTY, 60, 60, t % 3600, true));
      node.dataset.text = text();
      node._textNow = text;
      onMidnight();
      track(node, performance.now() + (86400 - t) * 1000, draw);
    };
    draw();
    schedule();
  }

  // What a ticking node says at this instant (tests read it; so could a screen reader).
  const textOf = (node) => (node._textNow ? node._textNow() : node.dataset.text ?? node.textContent);

  return { duration, still, clock, textOf, shown };
})();
