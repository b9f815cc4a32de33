"""Endpoint resolution in the docker CLI's order, on real config directories written by the tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dockdoctor.model import EndpointRule
from dockdoctor.probes.endpoint import DEFAULT_HOST, resolve, socket_exists


def _context(cfg: Path, name: str, host: str) -> None:
    meta = cfg / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": name,
                "Metadata": {"Description": name},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
            }
        )
    )


def _config(cfg: Path, **data: object) -> None:
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.json").write_text(json.dumps(data))


def test_default_socket_when_nothing_is_set(tmp_path: Path) -> None:
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path)})
    assert (resolved.endpoint, resolved.rule, resolved.context) == (
        "unix:///var/run/docker.sock",
        EndpointRule.DEFAULT,
        "default",
    )


def test_current_context_from_config(tmp_path: Path) -> None:
    _config(tmp_path, currentContext="colima")
    _context(tmp_path, "colima", "unix:///Users/dev/.colima/default/docker.sock")
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path)})
    assert resolved.rule is EndpointRule.CURRENT_CONTEXT
    assert resolved.endpoint == "unix:///Users/dev/.colima/default/docker.sock"
    assert [c.name for c in resolved.contexts if c.current] == ["colima"]
    # the default context's socket is this machine's (/var/run/docker.sock may exist here); colima's is not here
    assert {c.name: c.socket_exists for c in resolved.contexts} == {
        "default": socket_exists(DEFAULT_HOST),
        "colima": False,
    }


def test_docker_context_beats_current_context(tmp_path: Path) -> None:
    _config(tmp_path, currentContext="colima")
    _context(tmp_path, "colima", "unix:///c.sock")
    _context(tmp_path, "orbstack", "unix:///o.sock")
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "orbstack"})
    assert (resolved.rule, resolved.context, resolved.endpoint) == (
        EndpointRule.DOCKER_CONTEXT,
        "orbstack",
        "unix:///o.sock",
    )


def test_docker_host_beats_everything_and_remembers_the_selected_context(tmp_path: Path) -> None:
    _config(tmp_path, currentContext="colima")
    _context(tmp_path, "colima", "unix:///c.sock")
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path), "DOCKER_HOST": "tcp://10.0.0.5:2376"})
    assert (resolved.rule, resolved.context, resolved.endpoint) == (
        EndpointRule.DOCKER_HOST,
        "default",
        "tcp://10.0.0.5:2376",
    )
    assert resolved.selected_context == "colima"


def test_unknown_context_is_an_error_value(tmp_path: Path) -> None:
    _config(tmp_path, currentContext="rancher-desktop")
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path)})
    assert resolved.endpoint == ""
    assert resolved.error is not None and "'rancher-desktop'" in resolved.error.detail


def test_corrupt_config_is_recorded_and_the_default_is_used(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"auths": {')
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path)})
    assert resolved.rule is EndpointRule.DEFAULT
    assert resolved.config_error is not None
    assert "invalid JSON" in resolved.config_error.detail and "config.json" in resolved.config_error.detail


def test_context_tls_material_is_found(tmp_path: Path) -> None:
    _config(tmp_path, currentContext="remote")
    _context(tmp_path, "remote", "tcp://build.example:2376")
    tls = tmp_path / "contexts" / "tls" / hashlib.sha256(b"remote").hexdigest() / "docker"
    tls.mkdir(parents=True)
    for name in ("ca", "cert", "key"):
        (tls / f"{name}.pem").write_text("x")
    resolved = resolve({"DOCKER_CONFIG": str(tmp_path)})
    assert resolved.tls is not None and resolved.tls.verify and resolved.tls.ca.endswith("ca.pem")
