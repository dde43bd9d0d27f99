"""How many agents a queue needs now, and what closing time will look like: pure figures.

Agents needed is Erlang C (M/M/N: callers arrive at random, at the rate of the last 30
minutes; handling times are exponential around the day's average; nobody gives up): the
fewest agents whose service level, the share of callers answered within the threshold,
reaches the target. Erlang C leaves out callers who give up, so it errs on the side of
more agents: a caller who hangs up needs no agent, but was not served either. The
formulas and a check against published tables are in docs/staffing.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_AGENTS = 1000  # above any hotline: the search gives up and says so
ARRIVAL_WINDOW_S = 30 * 60.0
MIN_WINDOW_S = 5 * 60.0  # a rate from fewer minutes than this is too unsure to show
CLOSING_FORECAST_S = 30 * 60.0  # the closing forecast shows from this long before closing


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability with `agents` servers and `traffic` Erlangs (the stable
    recurrence B(n) = A·B(n-1) / (n + A·B(n-1)), exact without factorials)."""
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def erlang_c(agents: int, traffic: float) -> float:
    """The probability that a caller waits at all; 1 when the agents cannot keep up."""
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(agents, traffic)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def service_level(agents: int, traffic: float, handle_s: float, threshold_s: float) -> float:
    """The share of callers answered within `threshold_s` (0..1)."""
    if agents <= traffic:
        return 0.0
    waits = erlang_c(agents, traffic)
    return 1.0 - waits * math.exp(-(agents - traffic) * threshold_s / handle_s)


def agents_needed(
    arrivals_per_s: float, handle_s: float, target: float, threshold_s: float
) -> int | None:
    """The fewest agents for `target` (0..1) of callers answered within `threshold_s`;
    0 with no callers; None when it would take more than any hotline has."""
    if arrivals_per_s <= 0:
        return 0
    traffic = arrivals_per_s * handle_s
    agents = max(1, math.floor(traffic) + 1)
    while agents <= MAX_AGENTS:
        if service_level(agents, traffic, handle_s, threshold_s) >= target:
            return agents
        agents += 1
    return None


def arrival_rate(samples: Sequence[tuple[float, int]]) -> float | None:
    """Calls a second from (monotonic time, calls offered today) samples, oldest first;
    None until they span `MIN_WINDOW_S`."""
    if len(samples) < 2:
        return None
    (first_at, first), (last_at, last) = samples[0], samples[-1]
    span = last_at - first_at
    if span < MIN_WINDOW_S or last < first:
        return None
    return (last - first) / span


def keep_samples(
    samples: tuple[tuple[float, int], ...], now: float, offered: int, every_s: float = 20.0
) -> tuple[tuple[float, int], ...]:
    """The samples with `offered` at `now`: one at most every `every_s`, the window's
    worth kept (and the newest one before it, so the window is always spanned)."""
    if samples and offered < samples[-1][1]:  # a new day (or a restarted count): start over
        samples = ()
    if len(samples) >= 2 and samples[-1][0] - samples[-2][0] < every_s:
        samples = samples[:-1]  # too near the one before to keep: the newest moves on
    kept = (*samples, (now, offered))
    start = 0
    while start + 1 < len(kept) and kept[start + 1][0] <= now - ARRIVAL_WINDOW_S:
        start += 1
    return kept[start:]


@dataclass(frozen=True, slots=True)
class ClosingForecast:
    waiting_at_close: int  # callers probably still waiting at closing time
    clear_after_close_s: float  # until the last of them is answered


def closing_forecast(
    waiting: int, arrivals_per_s: float, serving: int, handle_s: float, until_close_s: float
) -> ClosingForecast | None:
    """A fluid estimate: the queue grows by arrivals and shrinks by what the agents on the
    phones answer (each one call per handling time) until closing, when no one new comes
    in; then they answer the rest. None when nobody is answering (no end to say)."""
    if serving <= 0 or handle_s <= 0:
        return None
    answered_per_s = serving / handle_s
    at_close = max(0.0, waiting + (arrivals_per_s - answered_per_s) * max(0.0, until_close_s))
    callers = round(at_close)
    return ClosingForecast(callers, callers / answered_per_s)
