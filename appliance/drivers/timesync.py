"""Whether this machine's clock has been set by NTP.

systemd-timesyncd (Debian's and Raspberry Pi OS's) creates /run/systemd/timesync/
synchronized once it has synchronised the clock. A file, not a system call: the service's
seccomp filter (systemd/hotline.service) rightly denies the clock calls (adjtimex is in
@privileged), and a denied call would kill the process.
"""

from __future__ import annotations

from pathlib import Path

TIMESYNC = Path("/run/systemd/timesync")


def clock_synchronised(timesync: Path = TIMESYNC) -> bool | None:
    """True once timesyncd has set the clock, False before; None where timesyncd does not
    run (a container, another NTP client): then nothing is known, and nothing is said."""
    if not timesync.is_dir():
        return None
    return (timesync / "synchronized").exists()
