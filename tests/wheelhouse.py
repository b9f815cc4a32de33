"""The folders of wheels this machine's pip is configured to reach without a network, for offline installs in tests.

pip's own configuration (`pip config list`: find-links, and index URLs that are file:// simple indexes, whose
project pages link to the archives) names them; an install with PIP_NO_INDEX=1 and these as PIP_FIND_LINKS then
proves that nothing is fetched from the internet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse


def _config() -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False, timeout=60
    )
    found = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        found[key.rsplit(".", 1)[-1]] = value.strip().strip("'\"")
    for key in ("find-links", "index-url", "extra-index-url"):
        env = os.environ.get("PIP_" + key.upper().replace("-", "_"))
        if env:
            found[key] = env
    return found


def _archives_of(index: Path) -> set[Path]:
    """The folders a file:// simple index's project pages link to (for an index that keeps its files apart)."""
    folders = set()
    for page in sorted(index.glob("*/index.html"))[:50]:
        for href in re.findall(r'href="([^"#]+)', page.read_text(errors="replace")):
            target = (page.parent / unquote(href)).resolve()
            if target.suffix in (".whl", ".gz", ".zip") and target.is_file():
                folders.add(target.parent)
    return folders


def local_wheel_dirs() -> list[str]:
    """Local folders of archives from pip's configuration; empty when this machine's pip has none."""
    config = _config()
    folders: set[Path] = set()
    for key in ("find-links", "index-url", "extra-index-url"):
        for value in config.get(key, "").split():
            url = urlparse(value)
            path = Path(unquote(url.path)) if url.scheme in ("", "file") else None
            if path is None or not path.is_dir():
                continue
            if key == "find-links":
                folders.add(path)
            else:
                folders |= _archives_of(path)
    return sorted(str(f) for f in folders)


def offline_pip_env(env: dict[str, str], folders: list[str]) -> dict[str, str]:
    """`env` with pip told to use only `folders`: no index at all, so no network."""
    out = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    out.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=" ".join(folders), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return out
