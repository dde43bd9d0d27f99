// What a viewer would call broken, read from the rendered page: text clipped by its own
// box, by an ancestor that hides overflow or by the screen's edge; text overlapping other
// text or today's curve; scrollbars. Returns the problems and the figures' sizes.
(() => {
  const problems = [];
  const width = innerWidth, height = innerHeight;
  const describe = (node) => {
    const bits = [node.tagName.toLowerCase()];
    if (node.id) bits.push("#" + node.id);
    if (node.classList.length) bits.push("." + [...node.classList].join("."));
    const card = node.closest("[data-queue], [data-agent]");
    if (card && card !== node) bits.push(` in ${card.dataset.queue || card.dataset.agent}`);
    return bits.join("");
  };
  // Glyphs may reach above and below a line box of line-height 1 (DejaVu's ascent and
  // descent are 1.16 em): allow that much vertically; horizontally, one pixel.
  const within = (inner, outer, slackY) =>
    inner.left >= outer.left - 1 && inner.right <= outer.right + 1 &&
    inner.top >= outer.top - slackY && inner.bottom <= outer.bottom + slackY;
  const clips = (style) => style.overflowX !== "visible" || style.overflowY !== "visible";

  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const host = node.parentElement;
    if (!node.textContent.trim() || host.closest("script")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rect = range.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue; // not displayed
    const fontSize = parseFloat(getComputedStyle(host).fontSize);
    const slackY = 0.12 * fontSize + 1;
    const label = `${describe(host)} "${node.textContent.trim().slice(0, 40)}"`;
    if (!within(rect, host.getBoundingClientRect(), slackY)) {
      problems.push(`${label} overflows its box`);
    }
    for (let up = host.parentElement; up && up !== document.documentElement; up = up.parentElement) {
      if (clips(getComputedStyle(up)) && !within(rect, up.getBoundingClientRect(), slackY)) {
        problems.push(`${label} is clipped by ${describe(up)}`);
        break;
      }
    }
    if (!within(rect, { left: 0, top: 0, right: width, bottom: height }, 0)) {
      problems.push(`${label} is off the screen`);
    }
    const inset = 0.12 * fontSize;
    texts.push({ label, node, host, fontSize,
      box: { left: rect.left, right: rect.right, top: rect.top + inset, bottom: rect.bottom - inset } });
  }
  const overlap = (a, b) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      if (overlap(texts[i].box, texts[j].box)) {
        problems.push(`${texts[i].label} overlaps ${texts[j].label}`);
      }
    }
  }
  for (const spark of document.querySelectorAll(".spark")) {
    const box = spark.getBoundingClientRect();
    for (const text of texts) {
      if (overlap(box, text.box)) problems.push(`today's curve overlaps ${text.label}`);
    }
  }
  const page = document.scrollingElement;
  if (page.scrollWidth > width || page.scrollHeight > height) {
    problems.push(`scrollbars: the page is ${page.scrollWidth}×${page.scrollHeight}`);
  }

  // The big figures: the height of a digit's ink, and the largest other text.
  const canvas = document.createElement("canvas").getContext("2d");
  const digits = [...document.querySelectorAll(".figure .value")].map((value) => {
    const style = getComputedStyle(value);
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const ink = canvas.measureText("0123456789");
    return ink.actualBoundingBoxAscent + ink.actualBoundingBoxDescent;
  });
  const figures = new Set(document.querySelectorAll(".figure .value"));
  const largestOther = Math.max(0, ...texts.filter((t) => !figures.has(t.host))
    .map((t) => t.fontSize));
  const smallestFigure = Math.min(...[...figures].map((v) => parseFloat(getComputedStyle(v).fontSize)));
  return { problems, digits, largestOther, smallestFigure };
})()
