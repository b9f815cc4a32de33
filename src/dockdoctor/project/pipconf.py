"""Which package index pip uses (pure): pip.conf text, and the settings from files, environment and command line.

pip's order (its docs, "Configuration"; https://pip.pypa.io/en/stable/topics/configuration/): the file named by
PIP_CONFIG_FILE, then the global files (XDG_CONFIG_DIRS/pip/pip.conf, /etc/pip.conf), the user files
(~/.pip/pip.conf, then ~/.config/pip/pip.conf), the site file ($VIRTUAL_ENV/pip.conf), each overriding the one
before; `[install]` overrides `[global]`; environment variables (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_NO_INDEX)
override the files, the command line overrides them, and an `--index-url` inside a requirements file replaces the
index for that install (pip/_internal/req/req_file.py, handle_option_line). Extra indexes add up.
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from dataclasses import dataclass

KEYS = {"index-url": "index-url", "index_url": "index-url", "extra-index-url": "extra-index-url"}
KEYS |= {"extra_index_url": "extra-index-url", "no-index": "no-index", "no_index": "no-index"}


@dataclass(frozen=True, slots=True)
class Chosen:
    """The index an install asks, the extra ones, and which setting chose the index ("" = PyPI, pip's default)."""

    url: str = ""  # as written: may hold credentials, never put in facts as it is
    extra: tuple[str, ...] = ()
    source: str = ""
    no_index: bool = False


def pip_conf(text: str, origin: str) -> list[tuple[str, str, str]]:
    """The index settings of a pip.conf / pip.ini: `[global]`, then `[install]` (which overrides it)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    out = []
    for section in ("global", "install"):
        if not parser.has_section(section):
            continue
        for key, value in parser.items(section):
            if key in KEYS:
                out.append((KEYS[key], value.strip(), f"{origin} [{section}] {key}"))
    return out


def _true(value: str) -> bool:
    return value.strip().lower() in ("", "1", "true", "yes", "on")


def resolve(settings: Sequence[tuple[str, str, str]]) -> Chosen:
    """Apply (setting, value, origin) from the lowest precedence to the highest."""
    url, source, extra, no_index = "", "", [], False
    for key, value, origin in settings:
        if key == "index-url" and value.strip():
            url, source, no_index = value.split()[0], origin, False
        elif key == "extra-index-url":
            extra += [v for v in value.split() if v not in extra]
        elif key == "no-index":
            no_index = _true(value)
            source = origin if no_index else source
    return Chosen(url=url, extra=tuple(extra), source=source, no_index=no_index)


def requirement_options(text: str, origin: str) -> list[tuple[str, str, str]]:
    """`-i URL`, `--index-url URL`, `--extra-index-url URL`, `--no-index` lines of a requirements file."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        head, value = words[0], words[1] if len(words) > 1 else ""
        if "=" in head and head.startswith("--"):
            head, value = head.split("=", 1)
        where = f"{origin}:{number}"
        if head in ("-i", "--index-url") and value:
            out.append(("index-url", value, where))
        elif head == "--extra-index-url" and value:
            out.append(("extra-index-url", value, where))
        elif head == "--no-index":
            out.append(("no-index", "", where))
    return out
