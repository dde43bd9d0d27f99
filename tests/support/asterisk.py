"""A real Asterisk 22 (Debian sid's) in a chroot on 127.0.0.1, for the bridge's tests.

The root is debootstrapped once and cached (about 500 MB, a minute). Each `Asterisk` runs
from a directory of its own inside it, with its own configs: queues whose members are
Local channels with Custom device states that the agents' dialplan moves like a phone
(ringing, in use, free again), and callers that are Local channels originated through AMI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CACHE = Path("/var/cache/hotline-build/pbx")
ROOT = CACHE / "sid-asterisk-v1"  # a new name when what is installed changes
MODULES = (
    "pbx_config.so",  # extensions.conf
    "app_queue.so",
    "app_dial.so",
    "func_devstate.so",  # DEVICE_STATE(Custom:...) and the Custom: device state provider
    "func_strings.so",
    "func_logic.so",  # IF()
    "func_callerid.so",
    "res_musiconhold.so",
    "bridge_simple.so",  # two channels talking: without it a connected call ends at once
    "codec_ulaw.so",
)


def asterisk_root() -> Path:
    """Debian sid with Asterisk, made once and kept."""
    if (ROOT / ".complete").exists():
        return ROOT
    shutil.rmtree(ROOT, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=asterisk,asterisk-modules", "sid",
         str(ROOT), "http://deb.debian.org/debian"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    (ROOT / ".complete").touch()
    return ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


AGENTS = {"2101": "Mette", "2102": "Lars"}  # extension → member name


def _configs(base: str, ami_port: int, ring_s: float, talk_s: float) -> dict[str, str]:
    members = "".join(
        f"member => Local/{ext}@agents/n,0,{name},Custom:{ext}\n" for ext, name in AGENTS.items()
    )
    queue = (
        "strategy = rrmemory\ntimeout = 15\nretry = 1\nringinuse = no\nautofill = yes\n"
        "announce-frequency = 0\nperiodic-announce-frequency = 0\n" + members
    )
    return {
        "asterisk.conf": f"""[directories]
astetcdir => {base}/etc
astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules
astvarlibdir => /var/lib/asterisk
astdbdir => {base}/db
astkeydir => {base}/keys
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {base}/spool
astrundir => {base}/run
astlogdir => {base}/log
astsbindir => /usr/sbin
[options]
nofork = yes
""",
        "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load => {m}\n" for m in MODULES),
        "manager.conf": f"""[general]
enabled = yes
port = {ami_port}
bindaddr = 127.0.0.1
[hotline]  ; the bridge, with just the rights docs/asterisk.md prescribes
secret = s3cret
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = agent,call
write = agent
[tester]  ; the test: places calls, hangs up, asks QueueStatus
secret = t3ster
read = all
write = all
""",
        "queues.conf": f"[general]\npersistentmembers = no\n[borger]\n{queue}[erhverv]\n{queue}",
        "musiconhold.conf": "[general]\n",
        "logger.conf": "[logfiles]\nmessages => notice,warning,error\n",
        "extensions.conf": f"""[globals]
RING_S = {ring_s}
TALK_S = {talk_s}

[callers]  ; Local/<dialled number>@callers, Originated: the caller waits in the queue
exten => _X.,1,Set(QUEUE=${{IF($["${{EXTEN:0:1}}" = "2"]?erhverv:borger)}})
 same => n,Answer()
 same => n,Queue(${{QUEUE}},r)
 same => n,Hangup()

[agents]  ; the member's "phone": rings, is answered, talks, hangs up
exten => _X.,1,Set(AGENT=${{EXTEN}})
 same => n,Set(DEVICE_STATE(Custom:${{AGENT}})=RINGING)
 same => n,Wait(${{RING_S}})
 same => n,Set(DEVICE_STATE(Custom:${{AGENT}})=INUSE)
 same => n,Answer()
 same => n,Wait(${{TALK_S}})
 same => n,Hangup()
exten => h,1,Set(DEVICE_STATE(Custom:${{AGENT}})=NOT_INUSE)

[holding]  ; the caller's end of the line
exten => s,1,Wait(600)
""",
    }


class Asterisk:
    """One Asterisk in the cached root, listening for AMI on 127.0.0.1 only."""

    def __init__(self, name: str, *, ring_s: float = 1.0, talk_s: float = 3.0) -> None:
        self.root = asterisk_root()
        self.base = f"/hotline-tests/{name}-{os.getpid()}"
        self.ami_port = free_port()
        self.ring_s, self.talk_s = ring_s, talk_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The AMI's port (the name the bridge tests' config helper asks for)."""
        return self.ami_port

    @property
    def path(self) -> Path:
        return self.root / self.base.lstrip("/")

    def start(self, timeout: float = 30.0) -> None:
        if self.process is None:
            shutil.rmtree(self.path, ignore_errors=True)
            for sub in ("etc", "db", "keys", "spool", "run", "log"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            configs = _configs(self.base, self.ami_port, self.ring_s, self.talk_s)
            for name, text in configs.items():
                (self.path / "etc" / name).write_text(text)
        with (self.path / "console.log").open("ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-f", "-n", "-C",
                 f"{self.base}/etc/asterisk.conf"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Asterisk exited: {self.console()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.ami_port), timeout=1) as probe,
            ):
                if probe.recv(64).startswith(b"Asterisk Call Manager"):
                    for extension in AGENTS:  # the phones are free (Custom: starts unknown)
                        self.cli(f"devstate change Custom:{extension} NOT_INUSE")
                    return
            time.sleep(0.1)  # polling a starting server under a deadline
        raise TimeoutError(f"Asterisk's AMI did not come up: {self.console()[-2000:]}")

    def cli(self, command: str) -> str:
        """A command on Asterisk's own console (`asterisk -rx`)."""
        done = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-C",
             f"{self.base}/etc/asterisk.conf", "-rx", command],
            check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return done.stdout

    def console(self) -> str:
        path = self.path / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def remove(self) -> None:
        """Stop, and take this Asterisk's directory out of the cached root."""
        self.stop()
        shutil.rmtree(self.path, ignore_errors=True)
