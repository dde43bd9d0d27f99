"""Optional outputs run supervised: a failure is theirs alone, reported and retried.

The MQTT link and the web server are the only parts whose loss ends the appliance. The
sign, each OLED, each desk's GPIO, the history and the health publisher run under
`supervise()`: whatever they raise (a luma error, an AssertionError from a driver, an
OSError, a sqlite error) is logged once per new reason, shown as that output's error on
/healthz, the health topic and /metrics, and the part is started again after a capped,
jittered backoff, while the rest of the TaskGroup carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from appliance.core.health import Outputs
from appliance.runtime.backoff import Backoff

log = logging.getLogger(__name__)

# A part that ran this long before failing had recovered: its next failure starts the
# backoff from the beginning again.
HEALTHY_AFTER_S = 60.0


def describe(error: BaseException) -> str:
    """One line for a technician: the error's kind and what it said."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    text = str(error)
    kind = type(error).__name__
    return f"{kind}: {text}" if text else kind


async def supervise(
    name: str,
    run: Callable[[], Coroutine[Any, Any, object]],
    outputs: Outputs,
    *,
    backoff: Backoff | None = None,
) -> NoReturn:
    """Run `run()` for ever: each time it fails (or returns), report it and start it again."""
    backoff = backoff or Backoff(first_s=1.0, cap_s=60.0)
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await run()
            error: BaseException = RuntimeError("stopped by itself")
        except asyncio.CancelledError:
            raise
        except Exception as failure:  # an optional output's failure is its own
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Stopping: a part whose clean-up failed must not swallow the cancellation.
                raise asyncio.CancelledError from failure
            error = failure
        message = describe(error)
        if outputs.error(name, message):  # news: logged once, not once per retry
            expected = isinstance(error, OSError)
            log.error("%s: %s (retried)", name, message, exc_info=None if expected else error)
        # Not kept while waiting: its traceback holds what the part had made (a half-made
        # device still claiming its pin), which the retry must find released.
        del error
        if loop.time() - started >= HEALTHY_AFTER_S:
            backoff.reset()
        await asyncio.sleep(backoff.next_delay())
