"""The compose probe: `docker compose` (v2 plugin) and `docker-compose` (v1 Python, or v2's shim)."""

from __future__ import annotations

import re
import shutil

from dockdoctor.model import ComposeFacts, ComposeTool, ProbeError, ProbeErrorKind
from dockdoctor.probes._pool import Pool
from dockdoctor.probes._run import read_text, run

_VERSION = re.compile(r"(?i)\bcompose version:?\s+v?(\d+\.\d+(?:\.\d+)?[0-9A-Za-z.+-]*?)(?:,|\s|$)")


def parse_compose_version(text: str) -> tuple[str, int] | None:
    """(version, major) from `docker compose version` / `docker-compose version` output, or None."""
    for line in text.splitlines():
        match = _VERSION.search(line.strip())
        if match:
            version = match.group(1)
            return version, int(version.split(".")[0])
    return None


def parse_script_version(text: str) -> str | None:
    """The version a Python entry-point script pins (`__requires__ = 'docker-compose==1.29.2'`), or None."""
    if not text.startswith("#!"):
        return None
    match = re.search(r"['\"]docker-compose==(\d+\.\d+\.\d+)['\"]", text)
    return match.group(1) if match else None


def _tool(command: tuple[str, ...], path: str, timeout: float) -> ComposeTool | ProbeError | None:
    if command == ("docker-compose",):
        # Compose v1 is a Python program that takes a third of a second to print its version; an entry-point
        # script that pins its own distribution says the same without starting it.
        script = read_text("compose", path, limit=4096)
        version = parse_script_version(script) if isinstance(script, str) else None
        if version:
            return ComposeTool(command=command, version=version, major=int(version.split(".")[0]), path=path)
    result = run("compose", (*command, "version"), timeout=timeout)
    if isinstance(result, ProbeError):
        return None if result.kind == "not-found" else result
    parsed = parse_compose_version(result.stdout)
    if result.code != 0 or parsed is None:
        if command[0] == "docker":
            return None  # `docker: 'compose' is not a docker command.`: the plugin is not installed
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no version printed"]
        return ProbeError(
            probe="compose", kind=ProbeErrorKind.ERROR, detail=f"{' '.join(command)} version: {detail[0]}"
        )
    version, major = parsed
    return ComposeTool(command=command, version=version, major=major, path=path)


def probe_compose(*, timeout: float = 10.0) -> ComposeFacts:
    """Which compose tools exist, their versions, and which major `docker-compose` really is."""
    docker = shutil.which("docker")
    standalone_path = shutil.which("docker-compose")
    # the two tools at once: each is a process start or two (the docker CLI runs the plugin), not a dependency
    pool = Pool(2, "compose")
    try:
        plugin_f = pool.submit(_tool, ("docker", "compose"), docker or "", timeout) if docker else None
        standalone = _tool(("docker-compose",), standalone_path, timeout) if standalone_path else None
        plugin = plugin_f.result() if plugin_f is not None else None
    finally:
        pool.shutdown()
    errors = [item for item in (plugin, standalone) if isinstance(item, ProbeError)]
    plugin = plugin if isinstance(plugin, ComposeTool) else None
    standalone = standalone if isinstance(standalone, ComposeTool) else None
    v1 = standalone if standalone and standalone.major == 1 else None
    v2 = plugin if plugin and plugin.major >= 2 else (standalone if standalone and standalone.major >= 2 else None)
    return ComposeFacts(v1=v1, v2=v2, docker_compose=standalone, errors=tuple(errors))
