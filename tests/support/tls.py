"""A throwaway certificate authority and broker certificate, made with openssl."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path, name: str = "ca", server_days: int = 2) -> Certificates:
    """A CA, and a certificate it signed for 127.0.0.1 and localhost (-1 days: expired)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        "-subj",
        f"/CN=hotline test {name}",
        cwd=directory,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
        cwd=directory,
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        f"{name}.crt",
        "-CAkey",
        f"{name}.key",
        "-CAcreateserial",
        "-days",
        str(server_days),
        "-out",
        "server.crt",
        "-extfile",
        "san.ext",
        cwd=directory,
    )
    return Certificates(
        directory / f"{name}.crt", directory / "server.crt", directory / "server.key"
    )


def password_file(path: Path, user: str, password: str) -> Path:
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(path), user, password], check=True, capture_output=True
    )
    return path
