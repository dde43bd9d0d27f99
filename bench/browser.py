"""`make bench`, the kiosk's side: the wallboard in headless Chromium, measured from outside.

    python -m bench.browser [--heap-min 30] [--json bench/browser.json]

Software rendering (`--disable-gpu`), as on a Pi without GPU acceleration. Each figure
beside a baseline from the same run, on the same machine:

- publish → DOM (a MutationObserver sees the change) and → paint (the animation frame
  after it) p50/p99 at 10 msg/s: an agent's change (most messages are), and a queue's
  count (from 100 up: the card is red and pulses); beside a bare page that puts the count
  into one element (fed by the bare MQTT → WebSocket relay);
- Chromium's CPU over 60 s with the board idle (nobody waiting, agents' times ticking) and
  a long ticker running, beside Chromium on about:blank;
- the page's JS heap after `--heap-min` minutes at 10 msg/s (queues and agents changing),
  beside the heap at the start (both after a full garbage collection).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiomqtt

from bench.probe import agent_payload, queue_payload
from bench.scale import config_text
from bench.suite import PREFIX, TICKS, Appliance, evening, percentile, print_table, row, run_peer
from tests.support.chromium import Page, chromium_page
from tests.support.mosquitto import Mosquitto, free_port

TICKER = (
    "Personalemøde kl. 21.30 i kantinen – husk at sætte pause inden · Ny vejledning om "
    "MitID til foreninger ligger på intranettet · Husk at registrere opkald fra erhverv"
)
# Records, for each new number in the element, when the DOM had it and the frame after.
OBSERVER = """
(() => {
  window.__marks = [];
  let last = null;
  new MutationObserver(() => {
    const node = document.querySelector(%s);
    const found = node ? /(\\d+)$/.exec(node.textContent) : null;
    if (!found || found[1] === last) return;
    last = found[1];
    const dom = performance.timeOrigin + performance.now();
    requestAnimationFrame(() => window.__marks.push([Number(last), dom,
      performance.timeOrigin + performance.now()]));
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()
"""
WAITING = "'.queue[data-queue=borger] .figure.waiting .value'"
PROBE_AGENT = "'.agent[data-agent=probe] .state'"


def tree_cpu_seconds(root: int) -> float:
    """CPU (user + system) of `root` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    total = 0.0
    for pid, seconds in times.items():
        ancestor = pid
        while ancestor not in (0, 1, root):
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            total += seconds
    return total


async def page_latency(page: Page, url: str, selector: str, broker: Mosquitto,
                       messages: int, agent: bool = False) -> dict[str, list[float]]:  # fmt: skip
    """Publish `messages` changes at 10 msg/s (a queue's count, or an agent's pause
    reason); when did the page show each?"""
    async with aiomqtt.Client("127.0.0.1", broker.port) as publisher:
        if agent:
            await publisher.publish(f"{PREFIX}/agents/probe", agent_payload(99), qos=1)
        await page.goto(url)
        await page.wait_for(f"!!document.querySelector({selector})")
        await page.settle()
        await page.evaluate(OBSERVER % selector)
        sent: dict[int, float] = {}
        for number in range(100, 100 + messages):
            sent[number] = time.time() * 1000
            if agent:
                await publisher.publish(f"{PREFIX}/agents/probe", agent_payload(number))
            else:
                await publisher.publish(f"{PREFIX}/queues/borger", queue_payload(number))
            await asyncio.sleep(0.1)
        if not agent:  # nobody waiting again, as an ordinary evening
            await publisher.publish(f"{PREFIX}/queues/borger", queue_payload(0), qos=1, retain=True)
    await asyncio.sleep(0.5)
    marks = await page.evaluate("window.__marks")
    return {
        "dom_ms": [dom - sent[number] for number, dom, _ in marks if number in sent],
        "paint_ms": [paint - sent[number] for number, _, paint in marks if number in sent],
    }


async def idle_cpu(page: Page, url: str, seconds: float) -> float:
    """Chromium's share of one core over `seconds` on `url`, after it has settled."""
    await page.goto(url)
    await asyncio.sleep(5)
    before = tree_cpu_seconds(page.pid)
    await asyncio.sleep(seconds)
    return (tree_cpu_seconds(page.pid) - before) / seconds * 100


async def heap_mb(page: Page) -> float:
    await page.send("HeapProfiler.enable")
    await page.send("HeapProfiler.collectGarbage")
    usage = await page.send("Runtime.getHeapUsage")
    return float(usage["usedSize"]) / 1e6


async def heap_growth(
    page: Page, url: str, broker: Mosquitto, minutes: float
) -> tuple[float, float]:
    """The heap at the start, and after `minutes` of 10 msg/s (queues and agents)."""
    await page.goto(url)
    await page.wait_for(f"!!document.querySelector({WAITING})")
    await asyncio.sleep(5)
    start = await heap_mb(page)
    until = time.monotonic() + minutes * 60
    async with aiomqtt.Client("127.0.0.1", broker.port) as publisher:
        number = 0
        while time.monotonic() < until:
            if number % 2:
                await publisher.publish(f"{PREFIX}/agents/probe", agent_payload(number))
            else:
                await publisher.publish(f"{PREFIX}/queues/borger", queue_payload(number % 7))
            number += 1
            await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    return start, await heap_mb(page)


async def run(heap_min: float, out: Path) -> list[list[str]]:
    work = Path(tempfile.mkdtemp(prefix="hotline-browser-"))
    broker = Mosquitto(work / "broker", extra_config="max_queued_messages 0\n")
    broker.start()
    port, relay_port = free_port(), free_port()
    config = work / "hotline.toml"
    config.write_text(config_text(broker, port, work, site="favrskov"))
    results: dict[str, Any] = {}
    rows: list[list[str]] = []
    await evening(broker)
    async with aiomqtt.Client("127.0.0.1", broker.port) as setup:
        body = json.dumps({"v": 1, "text": TICKER, "level": "info"})
        await setup.publish(f"{PREFIX}/messages/all", body, qos=1, retain=True)
    app = Appliance(config, port)
    relay = await run_peer("relay", "127.0.0.1", str(broker.port), PREFIX, str(relay_port), "0")
    try:
        async with chromium_page() as page:
            bare = await page_latency(page, f"http://127.0.0.1:{relay_port}/", "'#waiting'",
                                      broker, 300)  # fmt: skip
            wallboard = f"http://127.0.0.1:{port}/"
            changes = await page_latency(page, wallboard, PROBE_AGENT, broker, 300, agent=True)
            board = await page_latency(page, wallboard, WAITING, broker, 300)
            blank = await idle_cpu(page, "about:blank", 60)
            idle = await idle_cpu(page, f"http://127.0.0.1:{port}/", 60)
            start, end = await heap_growth(page, f"http://127.0.0.1:{port}/", broker, heap_min)
    finally:
        relay["process"].terminate()
        await relay["process"].wait()
        app.stop()
        broker.stop()
    figures = {
        name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "n": len(values)}
        for name, values in (
            ("dom", changes["dom_ms"]),
            ("paint", changes["paint_ms"]),
            ("queue_dom", board["dom_ms"]),
            ("queue_paint", board["paint_ms"]),
            ("bare_dom", bare["dom_ms"]),
            ("bare_paint", bare["paint_ms"]),
        )
    }
    results |= {"latency_ms": figures, "idle_cpu_pct": idle, "blank_cpu_pct": blank,
                "heap_mb": {"start": start, "end": end, "minutes": heap_min}}  # fmt: skip
    rows += [
        row(
            "Chromium: an agent's change, publish → DOM p50 / p99 (10 msg/s)",
            f"{figures['dom']['p50']:.1f} / {figures['dom']['p99']:.1f} ms",
            f"{figures['bare_dom']['p50']:.1f} / {figures['bare_dom']['p99']:.1f} ms bare page",
            "",
            None,
        ),
        row(
            "Chromium: an agent's change, publish → paint (next frame) p50 / p99",
            f"{figures['paint']['p50']:.1f} / {figures['paint']['p99']:.1f} ms",
            f"{figures['bare_paint']['p50']:.1f} / {figures['bare_paint']['p99']:.1f} ms bare page",
            "p99 ≤ 17 ms",
            figures["paint"]["p99"] <= 17.0,
        ),
        row(
            "Chromium: a queue's count (red, pulsing), publish → DOM / paint p99",
            f"{figures['queue_dom']['p99']:.1f} / {figures['queue_paint']['p99']:.1f} ms",
            f"p50 {figures['queue_dom']['p50']:.1f} / {figures['queue_paint']['p50']:.1f} ms",
            "",
            None,
        ),
        row(
            "Chromium CPU, board idle with a ticker (software rendering)",
            f"{idle:.1f} % of a core",
            f"{blank:.1f} % about:blank",
            "≤ 5 %",
            idle <= 5.0,
        ),
        row(
            f"JS heap after {heap_min:g} min at 10 msg/s",
            f"{end:.1f} MB ({end - start:+.2f} MB)",
            f"{start:.1f} MB at the start",
            "growth ≤ 2 MB",
            end - start <= 2.0,
        ),
    ]
    out.write_text(json.dumps(results, indent=1))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--heap-min", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=Path("bench/browser.json"))
    args = parser.parse_args()
    print_table(asyncio.run(run(args.heap_min, args.json)), args.json)


if __name__ == "__main__":
    main()
