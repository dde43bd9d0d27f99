"""Parsing TOML into frozen msgspec structs, with every mistake named by its key."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from appliance.core.errors import ConfigError


def _collect(data: Any, kind: type[msgspec.Struct], path: str, errors: list[str]) -> None:
    """Check `data` against `kind` key by key, so that every mistake is found."""
    if not isinstance(data, dict):
        errors.append(f"{path or 'config'}: expected a table, got {type(data).__name__}")
        return
    fields = {field.encode_name: field for field in msgspec.structs.fields(kind)}
    for key in data.keys() - fields.keys():
        errors.append(f"{_join(path, key)}: unknown key")
    for name, field in fields.items():
        key_path = _join(path, name)
        if name not in data:
            if field.required:
                errors.append(f"{key_path}: missing")
            continue
        if isinstance(field.type, type) and issubclass(field.type, msgspec.Struct):
            _collect(data[name], field.type, key_path, errors)
            continue
        try:
            msgspec.convert(data[name], field.type)
        except msgspec.ValidationError as error:
            errors.append(f"{key_path}: {_plain(str(error))}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _plain(message: str) -> str:
    # msgspec says "Expected `int`, got `str` - at `$[0]`"; technicians need less punctuation.
    text, _, where = message.partition(" - at `$")
    text = text.replace("`", "")
    return f"{text} (item {where.rstrip('`')})" if where else text


S = TypeVar("S", bound=msgspec.Struct)


def parse_toml(
    text: str,
    kind: type[S],
    source: str,
    check: Callable[[S], list[str]] = lambda _: [],
) -> S:
    """Parse TOML text into `kind`; raise ConfigError listing every mistake by key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [f"not valid TOML: {error}"]) from error
    errors: list[str] = []
    _collect(data, kind, "", errors)
    if errors:
        raise ConfigError(source, sorted(errors))
    parsed = msgspec.convert(data, kind)
    errors = check(parsed)
    if errors:
        raise ConfigError(source, errors)
    return parsed


def read_toml(path: str | Path, parse: Callable[[str, str], S]) -> S:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), [f"cannot read: {error.strerror}"]) from error
    return parse(text, str(path))


def check_timezone(key: str, name: str) -> list[str]:
    """[] for a time zone this machine knows, else the mistake under `key`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{key}: unknown time zone {name!r}"]
    return []
