"""The service's modules compiled into its cache ahead of its first start.

hotline.service runs Python with -OO and `PYTHONPYCACHEPREFIX` (Debian ships the standard
library compiled for -O0 only); the package's postinst runs this as the service user in
that environment, so the first start on the Pi compiles nothing. Importing is what
compiles exactly what the service will load, the standard library's part included.
"""

from __future__ import annotations

import importlib

# The service and what it imports only once it needs it (OLED drivers, the GPIO pins,
# the clock's check, IDNA for host names), found by running it with the cache this makes
# and listing what it compiled on top (bench/suite.py's appliance, with sign and desks).
SERVICE_MODULES = (
    "appliance.programs.cli",
    "appliance.programs.service",
    "appliance.drivers.timesync",
    "encodings.idna",
    "luma.core.interface.serial",
    "luma.oled.device",
    "gpiozero.pins.lgpio",
    "gpiozero.pins.mock",
)


def main() -> None:
    for module in SERVICE_MODULES:
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - one missing (lgpio off a Pi) stops no other
            print(f"hotline: {module} not compiled ahead: {error}")


if __name__ == "__main__":
    main()
