"""Values that parse but cannot be true, judged against the appliance's own clock.

A phone system with a broken clock, or a bug that counts a call twice, sends payloads
that fit the contract's shape. Shown as they are, they would read "time in state 8,000
years" or "service level 160 %". They are kept (the rest of the payload is good), the
impossible part is shown as unknown ("–"), and each is counted for the technician.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from appliance.core.contract import AgentState, Today

# A timestamp further than this from the appliance's own clock is not believed: an NTP-less
# Pi after a power cut, or a phone system's clock set to 1970.
MAX_CLOCK_SKEW = timedelta(days=1)
Implausible = Literal["agent_times", "today_counts"]


def times_implausible(state: AgentState, wall_now: datetime) -> bool:
    """`ts` or `since` more than a day from our clock, or `since` after `ts`."""
    stamps = [state.ts] if state.since is None else [state.ts, state.since]
    if any(abs(stamp - wall_now) > MAX_CLOCK_SKEW for stamp in stamps):
        return True
    return state.since is not None and state.since > state.ts


def counts_contradict(today: Today) -> bool:
    """Counts that cannot all be true: more answered and abandoned than offered, and so on."""
    if (
        today.answered + today.abandoned > today.offered
        or today.answered_within_sl > today.answered
        or today.short_abandoned > today.abandoned
    ):
        return True
    within = today.abandoned_within_sl  # v1.1: no more than the abandons, no fewer than short
    if within is not None and not today.short_abandoned <= within <= today.abandoned:
        return True
    if not today.by_municipality:
        return False
    parts = today.by_municipality.values()
    return (
        sum(part.offered for part in parts) > today.offered
        or sum(part.answered for part in parts) > today.answered
        or sum(part.abandoned for part in parts) > today.abandoned
    )
