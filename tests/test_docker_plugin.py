"""`docker doctor`: the plugin launcher through the real docker CLI, the metadata answer, `plugin install/uninstall`.

Every run has its own HOME and DOCKER_CONFIG in a temporary folder. Engine-free: contexts name sockets that do not
exist, and the report says which endpoint, by which rule, dockdoctor would have asked (tests/integration has the
run against the real engine).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import SRC, dockdoctor, isolated_env

from dockdoctor import __version__

DOCKER = shutil.which("docker") or ""
needs_docker = pytest.mark.skipif(not DOCKER, reason="no docker CLI on PATH")


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return isolated_env(tmp, HOME=str(home), **extra)


def _docker(
    *args: str, env: dict[str, str], docker: str = DOCKER, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd or Path(env["HOME"]),
    )


def _installed(tmp: Path, **extra: str) -> dict[str, str]:
    env = _env(tmp, **extra)
    result = dockdoctor("plugin", "install", env=env)
    assert result.code == 0, result.stderr
    return env


def _launcher(env: dict[str, str]) -> Path:
    return Path(env["DOCKER_CONFIG"]) / "cli-plugins" / "docker-doctor"


def _engine(report: str) -> dict:
    return json.loads(report)["facts"]["engine"]


def test_metadata_and_version_answer_without_click() -> None:
    code = (
        "import sys; sys.argv[1:] = [sys.argv.pop()]; from dockdoctor._entry import main; rc = main(); "
        "assert not {'click', 'typing', 'json'} & set(sys.modules), sorted(sys.modules); sys.exit(rc)"
    )
    for arg in ("docker-cli-plugin-metadata", "--version"):
        proc = subprocess.run(
            [sys.executable, "-c", code, arg], capture_output=True, text=True, env={"PYTHONPATH": SRC}
        )
        assert proc.returncode == 0, proc.stderr
        if arg == "--version":
            assert proc.stdout == f"dockdoctor, version {__version__}\n"
        else:  # what cli-plugins/manager/plugin.go newPlugin requires
            meta = json.loads(proc.stdout)
            assert meta["SchemaVersion"] == "0.1.0" and meta["Vendor"] == "dockdoctor"
            assert meta["Version"] == __version__ and meta["ShortDescription"]


def test_version_is_the_same_as_clicks(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dockdoctor.cli import cli

    fast = dockdoctor("--version", env=_env(tmp_path))
    assert fast.stdout == CliRunner().invoke(cli, ["--version"]).output


@needs_docker
def test_docker_help_lists_the_plugin_without_a_metadata_error(tmp_path: Path) -> None:
    env = _installed(tmp_path)
    mode = _launcher(env).stat().st_mode
    assert stat.S_ISREG(mode) and mode & stat.S_IXUSR
    proc = _docker("--help", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert ["doctor*", "Diagnose", "Docker", "platform"] in [line[:4] for line in lines]
    assert "Invalid Plugins" not in proc.stdout and "doctor" not in proc.stderr


@needs_docker
def test_docker_doctor_check_no_engine(tmp_path: Path) -> None:
    env = _installed(tmp_path)
    (Path(env["HOME"]) / "Dockerfile").write_text("FROM busybox\n")
    proc = _docker("doctor", "check", "--no-engine", "--offline", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dockdoctor_version"] == __version__
    assert report["checks_skipped"] and report["facts"]["project"]["dockerfiles"]
    for argv in (("help", "doctor", "check"), ("doctor", "check", "--help")):
        usage = _docker(*argv, env=env)
        assert usage.returncode == 0 and "Usage: dockdoctor check" in usage.stdout, usage.stdout + usage.stderr
    version = _docker("doctor", "--version", env=env)
    assert version.stdout == f"dockdoctor, version {__version__}\n"


@needs_docker
def test_docker_context_option_reaches_the_probes(tmp_path: Path) -> None:
    """`docker --context X doctor` checks X, also with DOCKER_HOST set: the docker CLI's own precedence."""
    env = _installed(tmp_path)
    dead = f"unix://{tmp_path}/x.sock"
    created = _docker("context", "create", "xctx", "--docker", f"host={dead}", env=env)
    assert created.returncode == 0, created.stderr
    env["DOCKER_HOST"] = f"unix://{tmp_path}/elsewhere.sock"
    for option in ("--context", "-c"):
        proc = _docker(option, "xctx", "doctor", "check", "--no-project", "--json", "--timeout", "10", env=env)
        assert proc.stdout, proc.stderr
        engine = _engine(proc.stdout)
        assert (engine["context"], engine["endpoint_rule"], engine["endpoint"]) == ("xctx", "DOCKER_CONTEXT", dead)


@needs_docker
def test_docker_host_option_reaches_the_probes(tmp_path: Path) -> None:
    env = _installed(tmp_path, DOCKER_CONTEXT="nonexistent")
    host = f"unix://{tmp_path}/h.sock"
    for argv in (("-H", host), (f"--host={host}",)):
        proc = _docker(*argv, "doctor", "check", "--no-project", "--json", "--timeout", "10", env=env)
        assert proc.stdout, proc.stderr
        engine = _engine(proc.stdout)
        assert (engine["endpoint_rule"], engine["endpoint"]) == ("DOCKER_HOST", host)


@needs_docker
def test_docker_config_option_reaches_the_probes(tmp_path: Path) -> None:
    """`docker --config DIR doctor`: the plugin is found in DIR/cli-plugins and DIR's current context is checked."""
    other = tmp_path / "other-config"
    env = _installed(tmp_path)
    env_other = dict(env, DOCKER_CONFIG=str(other))
    assert dockdoctor("plugin", "install", env=env_other).code == 0
    dead = f"unix://{tmp_path}/y.sock"
    assert _docker("context", "create", "yctx", "--docker", f"host={dead}", env=env_other).returncode == 0
    assert _docker("context", "use", "yctx", env=env_other).returncode == 0
    proc = _docker("--config", str(other), "doctor", "check", "--no-project", "--json", "--timeout", "10", env=env)
    assert proc.stdout, proc.stderr
    engine = _engine(proc.stdout)
    assert (engine["context"], engine["endpoint_rule"], engine["endpoint"]) == ("yctx", "currentContext", dead)


@needs_docker
def test_the_original_docker_cli_runs_the_compose_probe(tmp_path: Path) -> None:
    """DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: `/some/bin/docker doctor` probes `/some/bin/docker compose`,
    not the first docker on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(os.path.realpath(DOCKER))
    env = _installed(tmp_path, PATH="/usr/bin:/bin")
    dead = f"unix://{tmp_path}/z.sock"
    proc = _docker("-H", dead, "doctor", "check", "--no-project", "--json", env=env, docker=str(bin_dir / "docker"))
    assert proc.stdout, proc.stderr
    compose = json.loads(proc.stdout)["facts"]["compose"]
    assert compose["v2"]["path"] == str(bin_dir / "docker")


@needs_docker
def test_docker_completion_is_delegated_to_click(tmp_path: Path) -> None:
    env = _installed(tmp_path)
    commands = _docker("__complete", "doctor", "", env=env).stdout.splitlines()
    assert commands[-1] == ":4" and "check" in [line.split("\t")[0] for line in commands]
    formats = _docker("__complete", "doctor", "check", "--format", "", env=env).stdout.splitlines()
    assert {"json", "sarif"} <= set(formats)


def test_install_refreshes_its_own_launcher_and_uninstall_removes_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    path = _launcher(env)
    first = dockdoctor("plugin", "install", env=env)
    assert first.code == 0 and str(path) in first.stdout
    inode = path.stat().st_ino
    again = dockdoctor("plugin", "install", env=env)
    assert again.code == 0 and path.stat().st_ino == inode  # rewritten in place by files.py
    removed = dockdoctor("plugin", "uninstall", env=env)
    assert removed.code == 0 and not path.exists()
    nothing = dockdoctor("plugin", "uninstall", env=env)
    assert nothing.code == 0 and "nothing to remove" in nothing.stdout


def test_the_launcher_goes_to_home_docker_without_docker_config(tmp_path: Path) -> None:
    env = _env(tmp_path)
    del env["DOCKER_CONFIG"]
    assert dockdoctor("plugin", "install", env=env, cwd=tmp_path).code == 0
    assert (Path(env["HOME"]) / ".docker" / "cli-plugins" / "docker-doctor").is_file()


@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_file_that_is_not_ours_is_never_replaced_nor_removed(tmp_path: Path, kind: str) -> None:
    env = _env(tmp_path)
    path = _launcher(env)
    path.parent.mkdir(parents=True)
    other = tmp_path / "someone-elses-plugin"
    other.write_text("#!/bin/sh\necho another doctor\n")
    if kind == "link":
        path.symlink_to(other)
    else:
        shutil.copy(other, path)
    for action in ("install", "uninstall"):
        result = dockdoctor("plugin", action, env=env)
        assert result.code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert str(path) in result.stderr and "left as it is" in result.stderr
    assert path.read_text() == other.read_text() and path.is_symlink() == (kind == "link")


def test_an_unwritable_plugin_folder_is_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    Path(env["DOCKER_CONFIG"]).rmdir()
    Path(env["DOCKER_CONFIG"]).write_text("not a folder")
    result = dockdoctor("plugin", "install", env=env)
    assert result.code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_the_launcher_never_runs_a_dockdoctor_folder_in_the_current_folder(tmp_path: Path) -> None:
    env = _installed(tmp_path)
    project = tmp_path / "project"
    (project / "dockdoctor").mkdir(parents=True)
    (project / "dockdoctor" / "__init__.py").write_text("raise SystemExit('the wrong dockdoctor')\n")
    (project / "dockdoctor" / "_entry.py").write_text("raise SystemExit('the wrong dockdoctor')\n")
    proc = subprocess.run(
        [str(_launcher(env)), "docker-cli-plugin-metadata"], env=env, capture_output=True, text=True, cwd=project
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["Vendor"] == "dockdoctor", proc.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--context", "a", "-H", "unix:///x", "doctor", "check"], "cannot specify both --host and --context"),
        (["--tlsverify", "--tlscacert", "/a/ca.pem", "--tlscert", "/b/cert.pem", "doctor"], "from one folder"),
        (["--bogus", "doctor", "check"], "unknown global option --bogus"),
        (["--tls=maybe", "doctor"], "--tls=maybe: give true or false"),
    ],
)
def test_global_options_it_cannot_follow_are_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    env = _env(tmp_path, DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND="docker")
    result = dockdoctor(*argv, env=env)
    assert result.code == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_global_options_become_the_environment_the_probes_read(tmp_path: Path) -> None:
    from dockdoctor._entry import apply_globals, parse_globals

    certs = tmp_path / "certs"
    argv = ["-Dl", "debug", "--config", str(tmp_path), "-cprod", "--tlsverify"]
    argv += ["--tlscacert", f"{certs}/ca.pem", "--tlscert", f"{certs}/cert.pem", "--tlskey", f"{certs}/key.pem"]
    options, index = parse_globals([*argv, "doctor", "check", "--context", "ignored"])
    assert argv[index - len(argv) :] == argv and index == len(argv)
    env = {"DOCKER_HOST": "tcp://old:2375", "PATH": "/usr/bin"}
    apply_globals(options, env)
    assert env == {
        "DOCKER_CONFIG": str(tmp_path),
        "DOCKER_CONTEXT": "prod",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(certs),
        "DOCKDOCTOR_DEBUG": "1",
        "PATH": "/usr/bin",
    }
    env = {"DOCKER_CONTEXT": "prod", "DOCKER_TLS_VERIFY": "1"}
    apply_globals(parse_globals(["-H=tcp://h:2376", "--tlsverify=false", "--tls"])[0], env)
    assert env == {
        "DOCKER_HOST": "tcp://h:2376",
        "DOCKER_TLS": "1",
        "DOCKER_CERT_PATH": os.path.expanduser("~/.docker"),
    }


def test_dockdoctor_commands_are_not_plugin_runs() -> None:
    from dockdoctor._entry import plugin_args

    env = {"DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND": "docker"}
    assert plugin_args(["check", "--context", "x"], env, program="dockdoctor") is None
    assert plugin_args(["--help"], {}, program="dockdoctor") is None
    assert plugin_args(["doctor", "check"], {}, program="dockdoctor") == ([], ["check"])
    assert plugin_args(["-c", "x", "doctor"], env, program="docker-doctor") == ([("context", "x")], [])
