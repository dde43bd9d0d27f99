// Times that tick on between messages (a queue's longest wait, an agent's time in state)
// and the clock, at the least cost to a kiosk without a GPU.
//
// Measured in headless Chromium with software rendering (bench/browser.py): any running
// CSS animation, even one that moves once a second, keeps the compositor drawing 60
// frames a second, 6–8 % of a core; one timer a second that rewrites the times in their
// own contained layers costs about 1.4 %. So: one timer, once a second, and only while a
// time that ticks is on the screen; the clock is redrawn when its minute changes. A
// message's own frame brings the times up to date too, and the next tick is a second
// after it: while messages come, the times cost no frames of their own (a frame of
// theirs in the way of a message's would cost it up to one more frame).
"use strict";

const ticking = (() => {
  const shown = new Set(); // nodes whose time ticks, each with its zero and format
  let timer = null;

  function tick() {
    const now = performance.now();
    for (const node of shown) {
      if (!node.isConnected) { shown.delete(node); continue; }
      const text = node._format(Math.max(0, (now - node._zeroAt) / 1000));
      if (text === node.textContent) continue;
      const longer = text.length !== node.textContent.length;
      node.textContent = text;
      if (longer && node._grew) node._grew(node);
    }
    if (!shown.size && timer !== null) { clearInterval(timer); timer = null; }
  }

  // `node` says a duration that was 0 at `zeroAt` (performance.now() ms), ticking on;
  // `grew(node)` when it gains a digit ("9:59" to "10:00").
  function duration(node, zeroAt, format, grew) {
    node._zeroAt = zeroAt;
    node._format = format;
    node._grew = grew;
    shown.add(node);
    const text = format(Math.max(0, (performance.now() - zeroAt) / 1000));
    if (node.textContent !== text) node.textContent = text;
    if (timer === null) timer = setInterval(tick, 1000);
  }

  // A time that does not tick (unknown, or frozen while the appliance is not heard).
  function still(node, text) {
    shown.delete(node);
    if (node.textContent !== text) node.textContent = text;
  }

  // A message is being drawn: the times with it, and the next tick a second later.
  function withMessage() {
    if (!shown.size) return;
    tick();
    if (timer !== null) clearInterval(timer);
    timer = setInterval(tick, 1000);
  }

  // The clock: `draw()` writes it and returns the seconds into its minute.
  let clockTimer = null;
  function clock(draw) {
    if (clockTimer !== null) clearTimeout(clockTimer);
    const intoMinute = draw();
    clockTimer = setTimeout(() => clock(draw), (60 - intoMinute) * 1000 + 20);
  }

  return { duration, still, withMessage, clock, count: () => shown.size };
})();
