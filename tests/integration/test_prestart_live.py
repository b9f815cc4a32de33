"""`check`'s head start with the real docker CLI, compose v2 and the buildx plugin: the probes claim every command
started ahead (none runs twice, none is left over) and gather the same facts as without it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clirun import isolated_env

from dockdoctor.probes import _prestart
from dockdoctor.probes.buildx import probe_buildx
from dockdoctor.probes.compose import probe_compose


@pytest.mark.parametrize("buildx", [True, False], ids=["buildx", "no-buildx"])
def test_the_probes_claim_every_command_started_ahead(
    testenv: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buildx: bool
) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"])
    if buildx:
        plugins = Path(env["DOCKER_CONFIG"]) / "cli-plugins"
        plugins.mkdir()
        (plugins / "docker-buildx").symlink_to(testenv["buildx_plugin"])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert shutil.which("docker")
    alone = (probe_compose(timeout=30), probe_buildx(timeout=30))
    try:
        with _prestart.head_start(_prestart.CHECK_COMMANDS):
            ahead = (probe_compose(timeout=30), probe_buildx(timeout=30))
            left = _prestart.unclaimed()
    finally:
        _prestart.discard()
    assert ahead == alone
    assert ahead[1].installed is buildx
    assert ahead[0].v2 is not None
    assert left == ()  # the listing too: the probe asks for it beside `version`, whatever `version` then says
