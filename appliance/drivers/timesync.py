"""Whether this machine's clock is synchronised: the kernel's own word (adjtimex)."""

from __future__ import annotations

import ctypes
import ctypes.util

TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised (STA_UNSYNC)


class _Timex(ctypes.Structure):
    # struct timex starts with `modes`; 0 asks without changing anything. The rest (its
    # size differs between architectures) is room for the kernel to write into.
    _fields_ = [("modes", ctypes.c_uint), ("rest", ctypes.c_byte * 256)]


def clock_synchronised() -> bool | None:
    """True once NTP (systemd-timesyncd) has set the clock; None where it cannot be asked."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        state = ctypes.CDLL(name, use_errno=True).adjtimex(ctypes.byref(_Timex()))
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != TIME_ERROR
