"""The `hotline` command.

Each subcommand imports what it runs when it runs, so that `hotline message` starts in a
fraction of the time `hotline run` takes. None of these imports hides a circle:
`lint-imports` reads function-level imports too, and the layers forbid one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from pathlib import Path

from appliance import __version__
from appliance.core.config import redacted
from appliance.core.contract import (
    IDENTIFIER,
    MAX_TICKER_CHARS,
    VERSION,
    TickerMessage,
    Topics,
    encode,
)
from appliance.core.errors import ConfigError, HotlineError
from appliance.core.hours import COPENHAGEN
from appliance.programs.configuration import load_config

log = logging.getLogger("hotline")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from appliance.programs.service import Appliance, run_until_stopped  # noqa: PLC0415

    config = load_config(args.config)
    log.info(
        "hotline %s for site %s; config %s",
        __version__,
        config.site.id,
        json.dumps(redacted(config), ensure_ascii=False),
    )
    from appliance.drivers.timesync import clock_synchronised  # noqa: PLC0415

    appliance = Appliance(config, freeze_start=True, clock_synchronised=clock_synchronised)
    run_until_stopped(appliance.run)
    return 0


def _cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(
        f"{args.config}: OK (site {config.site.id}, broker {config.mqtt.host}:"
        f"{config.mqtt.port}, wallboard on {config.web.listen})"
    )
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from appliance.phone.simulator.runner import Simulator, SimulatorSettings  # noqa: PLC0415
    from appliance.programs.service import run_until_stopped  # noqa: PLC0415

    settings = SimulatorSettings(
        broker=args.broker,
        prefix=args.prefix,
        protocol=args.protocol,
        seed=args.seed,
        speed=args.speed,
        calls_per_hour=args.calls_per_hour,
        on_duty=args.on_duty,
    )
    run_until_stopped(Simulator(settings).run)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from appliance.programs.demo import Demo  # noqa: PLC0415
    from appliance.programs.service import run_until_stopped  # noqa: PLC0415

    demo = Demo(
        broker_port=args.broker_port,
        listen=args.listen,
        language=args.language,
        speed=args.speed,
        closed=args.closed,
    )
    run_until_stopped(demo.run)
    return 0


def _cmd_bridge_asterisk(args: argparse.Namespace) -> int:
    from appliance.phone.bridge.asterisk import AsteriskBridge  # noqa: PLC0415
    from appliance.phone.bridge.config import load_bridge_config  # noqa: PLC0415
    from appliance.programs.service import run_until_stopped  # noqa: PLC0415

    config = load_bridge_config(args.config)
    try:
        config.secret  # noqa: B018 - fail now, not at every reconnect
    except OSError as error:
        raise ConfigError(args.config, [f"ami.secret_file: cannot read: {error}"]) from error
    if args.check:
        print(
            f"{args.config}: OK (AMI {config.ami.host}:{config.ami.port}, "
            f"{len(config.queues)} queue(s), {len(config.agents)} agent(s))"
        )
        return 0
    run_until_stopped(AsteriskBridge(config).run)
    return 0


def _cmd_install_config(args: argparse.Namespace) -> int:
    from appliance.programs.firstboot import find_boot_config, install_config  # noqa: PLC0415

    source = Path(args.source) if args.source else find_boot_config()
    if source is None:
        print("no hotline.toml on the boot partition: nothing to do")
        return 0
    installed = install_config(source, Path(args.target))
    print(f"{source} -> {installed}")
    return 0


def _cmd_install_system(args: argparse.Namespace) -> int:
    """The image's settings from the boot partition (hotline-image-firstboot.service)."""
    import shutil  # noqa: PLC0415
    import socket  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from appliance.programs.firstboot import BOOT_DIRS, install_system  # noqa: PLC0415

    boot = Path(args.boot) if args.boot else next((d for d in BOOT_DIRS if d.is_dir()), None)
    if boot is None:
        print("no boot partition: nothing to do")
        return 0
    root = Path(args.root)
    settings = install_system(boot, root)
    for said in settings.done:
        print(said)
    for problem in settings.problems:
        print(f"not applied: {problem}")
    if root == Path("/"):
        if any(said.startswith("host name ") for said in settings.done):
            socket.sethostname((root / "etc/hostname").read_text().strip())
        systemctl = shutil.which("systemctl")
        if systemctl and settings.units:
            subprocess.run(  # noqa: S603 - systemctl with this module's own unit names
                [systemctl, "enable", "--now", "--no-block", *settings.units], check=False
            )
    return 1 if settings.problems else 0


def parse_until(text: str, now: datetime) -> datetime:
    """`22:00` is the next 22:00 in Copenhagen; an ISO time with an offset is taken as is."""
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=COPENHAGEN)
    local = now.astimezone(COPENHAGEN)
    moment = datetime.combine(local.date(), clock, COPENHAGEN)
    return moment if moment > local else moment + timedelta(days=1)


def _cmd_message(args: argparse.Namespace) -> int:
    if not IDENTIFIER.fullmatch(args.site):
        raise HotlineError(f"--site: {args.site!r} is not a site id (or 'all')")
    from appliance.programs.broker_client import mqtt_for, publish_once  # noqa: PLC0415

    mqtt = mqtt_for(args)
    topic = Topics(mqtt.prefix).messages(args.site)
    if args.clear:
        payload = b""
    elif not args.text:
        raise HotlineError("give the text to show, or --clear")
    else:
        if len(args.text) > MAX_TICKER_CHARS:
            raise HotlineError(
                f"the text is {len(args.text)} characters; "
                f"the ticker shows at most {MAX_TICKER_CHARS}"
            )
        now = datetime.now(COPENHAGEN)
        expires = parse_until(args.until, now) if args.until else None
        message = TickerMessage(v=VERSION, text=args.text, level=args.level, expires=expires)
        payload = encode(message)
    asyncio.run(publish_once(mqtt, [(topic, payload)], args.timeout))
    print("cleared" if args.clear else f"on the ticker for {args.site}: {args.text}")
    return 0


def _cmd_sign_emulate(args: argparse.Namespace) -> int:
    from appliance.programs.service import run_until_stopped  # noqa: PLC0415
    from appliance.programs.sign_emulator import emulate  # noqa: PLC0415

    listen = None
    if args.listen:
        host, _, port = args.listen.rpartition(":")
        listen = (host or "127.0.0.1", int(port))
    run_until_stopped(lambda: emulate(Path(args.link) if args.link else None, listen))
    return 0


def _parser(everything: bool = True) -> argparse.ArgumentParser:
    """The command line; without `everything`, only `run`: the service's process then holds
    none of the tools' modules (most of a megabyte of code on a 512 MB Pi)."""
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument("--version", action="version", version=f"hotline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the appliance")
    run.add_argument("--config", required=True, help="the appliance's TOML config")
    run.set_defaults(handler=_cmd_run)
    if not everything:
        return parser
    # noqa'd below: the tools' modules load only for the tools (see above).
    from appliance.programs.broker_client import broker_options, one_shot_options  # noqa: PLC0415
    from appliance.programs.doctor import add_doctor_command  # noqa: PLC0415
    from appliance.programs.fleet_command import add_fleet_command  # noqa: PLC0415
    from appliance.programs.rota_commands import add_rota_commands  # noqa: PLC0415

    check = commands.add_parser("check-config", help="explain every mistake in a config")
    check.add_argument("config")
    check.set_defaults(handler=_cmd_check_config)

    simulate = commands.add_parser("simulate", help="play the shared phone system")
    broker_options(simulate)
    simulate.add_argument("--seed", type=int, default=None)
    simulate.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    simulate.add_argument("--calls-per-hour", type=float, default=95.0)
    simulate.add_argument("--on-duty", type=int, default=7, help="agents on the shift")
    simulate.set_defaults(handler=_cmd_simulate)

    message = commands.add_parser("message", help="put a line on the tickers (or --clear)")
    message.add_argument("text", nargs="?")
    message.add_argument("--site", default="all", help="a site id, or all (default)")
    message.add_argument("--until", help="HH:MM (next occurrence) or an ISO time")
    message.add_argument("--level", choices=("info", "warning"), default="info")
    message.add_argument("--clear", action="store_true", help="remove the site's message")
    one_shot_options(message)
    message.set_defaults(handler=_cmd_message)

    _add_tool_commands(commands)
    add_rota_commands(commands)
    add_fleet_command(commands)
    add_doctor_command(commands)
    return parser


def _add_tool_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands around the appliance: history, sign emulator, demo."""
    history = commands.add_parser("history", help="the local history")
    history_commands = history.add_subparsers(dest="history_command", required=True)
    from appliance.programs.history_export import add_export_command  # noqa: PLC0415

    add_export_command(history_commands)

    sign = commands.add_parser("sign", help="the LED sign")
    sign_commands = sign.add_subparsers(dest="sign_command", required=True)
    emulator = sign_commands.add_parser("emulate", help="a pretend sign, shown in the terminal")
    emulator.add_argument("--link", help="also reach the pty through this path")
    emulator.add_argument("--listen", help="host:port: listen on TCP instead of a pty")
    emulator.set_defaults(handler=_cmd_sign_emulate)

    demo = commands.add_parser("demo", help="broker + simulator + appliance, on this machine")
    demo.add_argument("--listen", default="127.0.0.1:8080", help="wallboard host:port")
    demo.add_argument("--broker-port", type=int, default=18830)
    demo.add_argument("--language", choices=("da", "en"), default="da")
    demo.add_argument("--speed", type=float, default=1.0)
    demo.add_argument("--closed", action="store_true", help="show the closed state")
    demo.set_defaults(handler=_cmd_demo)

    install = commands.add_parser(
        "install-config", help="move hotline.toml and its secrets from the boot partition"
    )
    install.add_argument("--from", dest="source", help="default: /boot/firmware/hotline.toml")
    install.add_argument("--to", dest="target", default="/etc/hotline")
    install.set_defaults(handler=_cmd_install_config)

    system = commands.add_parser(
        "install-system", help="the image's host name, Wi-Fi, SSH key and time zone from boot"
    )
    system.add_argument("--boot", help="default: /boot/firmware")
    system.add_argument("--root", default="/", help="the system to set (for tests)")
    system.set_defaults(handler=_cmd_install_system)

    bridge = commands.add_parser("bridge", help="publish a phone system by the contract")
    bridges = bridge.add_subparsers(dest="bridge_command", required=True)
    asterisk = bridges.add_parser("asterisk", help="Asterisk queues over AMI")
    asterisk.add_argument("--config", required=True, help="bridge.toml")
    asterisk.add_argument("--check", action="store_true", help="check the config and stop")
    asterisk.set_defaults(handler=_cmd_bridge_asterisk)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((word for word in words if not word.startswith("-")), None)
    args = _parser(everything=command != "run").parse_args(words)
    _setup_logging(args.verbose)
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(error.explain(), file=sys.stderr)
        return 2
    except (HotlineError, ValueError) as error:
        print(f"hotline: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
