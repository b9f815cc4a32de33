"""Mac engine settings from recorded outputs (fixtures/recorded/vms, headers name their public sources).

`colima` and `limactl` cannot run here: small stand-ins on PATH print the recorded outputs, so the real
subprocess door (argv, timeout) is what runs, and a missing or hanging CLI becomes a probe error.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from support.recorded import read_recording

from dockdoctor.probes.vms import (
    colima_settings,
    docker_desktop_settings,
    json_stream,
    lima_settings,
    yaml_scalars,
)

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "vms"
BUDGET = 60  # seconds a stand-in that answers at once may take on a loaded machine: a ceiling, not a speed claim


def body(name: str) -> str:
    return read_recording(RECORDED / name)[1]


def stand_in(bin_dir: Path, name: str, output: str | dict[str, str], *, sleep: float = 0) -> None:
    """An executable `name` that prints `output` (or `output[$1]`, by its first argument) after `sleep` seconds."""
    bin_dir.mkdir(exist_ok=True)
    outputs = output if isinstance(output, dict) else {"*": output}
    cases = []
    for arg, text in outputs.items():
        out = bin_dir / f"{name}.{len(cases)}.out"
        out.write_text(text)
        cases.append(f"  {arg if arg == '*' else repr(arg)}) cat '{out}' ;;")
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        + (f"sleep {sleep}\n" if sleep else "")
        + 'case "$1" in\n'
        + "\n".join(cases)
        + "\n  *) exit 1 ;;\nesac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_every_vm_recording_has_a_source_header() -> None:
    for path in RECORDED.glob("*.txt"):
        fields, text = read_recording(path)
        assert {"source", "date", "flavour", "cues", "command"} <= set(fields), path.name
        assert "https://" in fields["source"] and text.strip(), path.name


def test_json_streams() -> None:
    lima = json_stream(body("limactl-list-json.two-instances.1.txt"))
    assert [(i["name"], i["status"], i["arch"]) for i in lima] == [
        ("alpine", "Stopped", "x86_64"),
        ("default", "Running", "x86_64"),
    ]
    colima = json_stream(body("colima-ls-json.apple-silicon-x86_64.1.txt"))
    assert colima == [
        {
            "name": "default",
            "status": "Running",
            "arch": "x86_64",
            "cpus": 2,
            "memory": 2147483648,
            "disk": 107374182400,
            "runtime": "docker",
        }
    ]
    assert json_stream("not json") == []


def test_colima_default_template() -> None:
    assert yaml_scalars(body("colima-yaml.default-template.1.txt"), ("arch", "vmType", "rosetta", "cpu")) == {
        "arch": "host",
        "vmType": "qemu",
        "rosetta": "false",
        "cpu": "2",
    }


def _colima_home(tmp_path: Path, profiles: dict[str, str]) -> Path:
    root = tmp_path / ".colima"
    for name, text in profiles.items():
        (root / name).mkdir(parents=True)
        (root / name / "colima.yaml").write_text(text)
    (root / "_lima").mkdir()  # Colima's own Lima home is not a profile
    return root


def test_every_colima_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = body("colima-yaml.default-template.1.txt")
    x86 = template.replace("arch: host", "arch: x86_64")
    vz = template.replace("vmType: qemu", "vmType: vz").replace("rosetta: false", "rosetta: true")
    _colima_home(tmp_path, {"default": x86, "fast": vz})
    stand_in(
        tmp_path / "bin",
        "colima",
        {
            "list": body("colima-ls-json.apple-silicon-x86_64.1.txt"),
            "version": body("colima-version.release-0.9.1.1.txt"),
        },
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    found, errors = colima_settings(home=str(tmp_path), env={}, host_arch="arm64", timeout=BUDGET)
    assert errors == []
    assert [(s.profile, s.arch, s.vm_type, s.rosetta, s.status, s.version) for s in found] == [
        ("default", "amd64", "qemu", False, "Running", "0.9.1"),
        ("fast", "arm64", "vz", True, "", "0.9.1"),
    ]


def test_missing_and_hanging_cli_are_probe_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _colima_home(tmp_path, {"default": body("colima-yaml.default-template.1.txt")})
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    found, errors = colima_settings(home=str(tmp_path), env={}, host_arch="arm64", timeout=BUDGET)
    assert [e.kind for e in errors] == ["not-found"] and found[0].arch == "arm64"  # "host" on this arm64 Mac
    stand_in(tmp_path / "bin", "colima", "{}", sleep=30)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    found, errors = colima_settings(home=str(tmp_path), env={}, host_arch="arm64", timeout=0.5)
    assert [e.kind for e in errors] == ["timeout"] and len(found) == 1


def test_lima_instances(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".lima" / "default").mkdir(parents=True)
    (tmp_path / "lima-home").mkdir()
    listing = body("limactl-list-json.two-instances.1.txt").replace("/home/anders/.lima", str(tmp_path / ".lima"))
    (tmp_path / ".lima" / "default" / "lima.yaml").write_text(
        "vmType: vz\nrosetta:\n  # Enable Rosetta for Linux.\n  enabled: true\n  binfmt: true\n"
    )
    versions = body("colima-version.head-build-with-lima.1.txt")  # the paste holds `limactl --version` too
    stand_in(tmp_path / "bin", "limactl", {"list": listing, "--version": versions})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    found, errors = lima_settings(home=str(tmp_path), env={}, host_arch="arm64", timeout=BUDGET)
    assert errors == []
    assert [(s.profile, s.arch, s.status, s.rosetta, s.version) for s in found] == [
        ("alpine", "amd64", "Stopped", None, "0.19.0"),
        ("default", "amd64", "Running", True, "0.19.0"),
    ]


def test_tool_versions() -> None:
    from dockdoctor.probes.vms import parse_tool_version

    head = body("colima-version.head-build-with-lima.1.txt")
    assert (parse_tool_version(head, "colima"), parse_tool_version(head, "limactl")) == ("HEAD-ba1be00", "0.19.0")
    assert parse_tool_version(body("colima-version.release-0.9.1.1.txt"), "colima") == "0.9.1"


def test_docker_desktop_settings_files(tmp_path: Path) -> None:
    group = tmp_path / "Library" / "Group Containers" / "group.com.docker"
    group.mkdir(parents=True)
    # key names as public scripts read them (settings-store.json of Docker Desktop 4.35+)
    (group / "settings-store.json").write_text(
        json.dumps({"UseVirtualizationFramework": False, "UseVirtualizationFrameworkRosetta": False})
    )
    found, errors = docker_desktop_settings(str(tmp_path))
    assert errors == [] and [(s.vm_type, s.rosetta) for s in found] == [("qemu", False)]
    (group / "settings-store.json").write_text("{broken")
    assert docker_desktop_settings(str(tmp_path))[1][0].kind == "config"


def test_minikube_docker_env_recordings() -> None:
    from dockdoctor.probes.vms import parse_docker_env

    assert parse_docker_env(body("minikube-docker-env.vm-driver-mac.1.txt")) == {
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_HOST": "tcp://192.168.64.4:2376",
        "DOCKER_CERT_PATH": "/Users/medya/.minikube/certs",
        "MINIKUBE_ACTIVE_DOCKERD": "minikube",
    }
    assert parse_docker_env(body("minikube-docker-env.ssh-host.1.txt")) == {
        "DOCKER_HOST": "ssh://docker@127.0.0.1:32783",
        "MINIKUBE_ACTIVE_DOCKERD": "minikube",
    }
    old = parse_docker_env(body("minikube-docker-env.kic-no-active-dockerd.1.txt"))
    assert old["DOCKER_HOST"] == "tcp://127.0.0.1:32778" and "MINIKUBE_ACTIVE_DOCKERD" not in old
    # cmd.exe form, as kubernetes/minikube#2650 shows it
    assert parse_docker_env("SET DOCKER_HOST=tcp://192.168.1.20:2376\nREM @FOR /f ...\n") == {
        "DOCKER_HOST": "tcp://192.168.1.20:2376"
    }


@pytest.mark.parametrize(
    "name, endpoint",
    [
        ("minikube-docker-env.docker-driver-linux.1.txt", "tcp://192.168.67.2:2376"),
        ("minikube-docker-env.ssh-host.1.txt", "ssh://docker@127.0.0.1:32783"),
    ],
)
def test_minikube_through_its_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, endpoint: str) -> None:
    from dockdoctor.probes.vms import minikube_settings

    assert minikube_settings(home=str(tmp_path), env={}, timeout=BUDGET) == ([], [])  # no ~/.minikube: not asked
    (tmp_path / ".minikube").mkdir()
    stand_in(tmp_path / "bin", "minikube", {"docker-env": body(name)})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    found, errors = minikube_settings(home=str(tmp_path), env={}, timeout=BUDGET)
    assert errors == [] and [(s.product, s.profile, s.endpoint) for s in found] == [("minikube", "minikube", endpoint)]


def test_minikube_missing_failing_and_hanging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockdoctor.probes.vms import minikube_settings

    (tmp_path / ".minikube").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert [e.kind for e in minikube_settings(home=str(tmp_path), env={}, timeout=BUDGET)[1]] == ["not-found"]
    stand_in(tmp_path / "bin", "minikube", {"version": "x"})  # any other argument: exit 1
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    found, errors = minikube_settings(home=str(tmp_path), env={}, timeout=BUDGET)
    assert found == [] and errors[0].detail.startswith("minikube docker-env: exit 1")
    stand_in(tmp_path / "slow", "minikube", "", sleep=30)
    monkeypatch.setenv("PATH", f"{tmp_path / 'slow'}{os.pathsep}/usr/bin:/bin")
    assert [e.kind for e in minikube_settings(home=str(tmp_path), env={}, timeout=0.5)[1]] == ["timeout"]


def test_podman_machine_inspect_recording() -> None:
    from dockdoctor.probes.vms import parse_podman_machine_inspect

    found = parse_podman_machine_inspect(body("podman-machine-inspect.applehv-rosetta-off.1.txt"))
    assert [(s.product, s.vm_type, s.rosetta, s.rootful, s.profile) for s in found] == [
        ("podman", "applehv", False, True, "")
    ]
    # Podman 4's ConfigPath (as containers/podman#14448 shows it): the provider is the file's folder
    old = parse_podman_machine_inspect(
        '[{"ConfigPath": {"Path": "/Users/benoitf/.config/containers/podman/machine/qemu/a.json"}}]'
    )
    assert [(s.vm_type, s.rosetta) for s in old] == [("qemu", None)]
    assert parse_podman_machine_inspect("Error: no such machine") == []


def test_podman_machines_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockdoctor.probes.vms import podman_machine_settings

    assert podman_machine_settings(home=str(tmp_path), env={}, timeout=BUDGET) == ([], [])  # no machine: not asked
    machines = tmp_path / ".config" / "containers" / "podman" / "machine" / "applehv"
    machines.mkdir(parents=True)
    (machines / "podman-machine-default.json").write_text("{}")
    stand_in(tmp_path / "bin", "podman", {"machine": body("podman-machine-inspect.applehv-rosetta-off.1.txt")})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    found, errors = podman_machine_settings(home=str(tmp_path), env={}, timeout=BUDGET)
    assert errors == []
    assert [(s.profile, s.vm_type, s.rosetta, s.rootful) for s in found] == [
        ("podman-machine-default", "applehv", False, True)
    ]
    stand_in(tmp_path / "slow", "podman", "", sleep=30)
    monkeypatch.setenv("PATH", f"{tmp_path / 'slow'}{os.pathsep}/usr/bin:/bin")
    assert [e.kind for e in podman_machine_settings(home=str(tmp_path), env={}, timeout=0.5)[1]] == ["timeout"]


def test_finch_vm_through_its_own_limactl(tmp_path: Path) -> None:
    from dockdoctor.probes.vms import finch_settings, parse_limactl_table

    recorded = body("finch-limactl-ls.intel-mac.1.txt")
    assert parse_limactl_table(recorded)[0]["DIR"] == "/Applications/Finch/lima/data/finch"
    root = tmp_path / "Finch"
    assert finch_settings(env={}, host_arch="amd64", timeout=5, root=str(root)) == ([], [])  # no Finch: not asked
    (root / "lima" / "data").mkdir(parents=True)
    bin_dir = root / "lima" / "bin"
    stand_in(bin_dir, "limactl", {"ls": recorded})
    (bin_dir / "limactl").write_text(
        (bin_dir / "limactl")
        .read_text()
        .replace('case "$1"', '[ "$LIMA_HOME" = "' + str(root / "lima" / "data") + '" ] || exit 2\ncase "$1"')
    )
    found, errors = finch_settings(env={"PATH": "/usr/bin:/bin"}, host_arch="amd64", timeout=5, root=str(root))
    assert errors == [] and [(s.product, s.profile, s.arch, s.status) for s in found] == [
        ("finch", "finch", "amd64", "Running")
    ]
    stand_in(bin_dir, "limactl", "", sleep=30)
    assert [e.kind for e in finch_settings(env={}, host_arch="amd64", timeout=0.5, root=str(root))[1]] == ["timeout"]


def test_linux_emulation_facts_carry_minikube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockdoctor.probes.emulation import probe_emulation

    (tmp_path / ".minikube").mkdir()
    stand_in(tmp_path / "bin", "minikube", {"docker-env": body("minikube-docker-env.docker-driver-linux.1.txt")})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    facts = probe_emulation(
        os_name="linux", binfmt_root=str(tmp_path / "no-binfmt"), home=str(tmp_path), versions=False
    )
    assert [(s.product, s.endpoint) for s in facts.settings] == [("minikube", "tcp://192.168.67.2:2376")]


def test_check_json_shows_minikube_and_podman_machines(tmp_path: Path) -> None:
    """As a user runs it: `dockdoctor check --json` on Linux, HOME with ~/.minikube and a Podman machine."""
    from clirun import dockdoctor, isolated_env
    from support.recorded import engine_for

    home = tmp_path / "home"
    (home / ".minikube").mkdir(parents=True)
    machines = home / ".config" / "containers" / "podman" / "machine" / "applehv"
    machines.mkdir(parents=True)
    (machines / "podman-machine-default.json").write_text("{}")
    stand_in(tmp_path / "bin", "minikube", {"docker-env": body("minikube-docker-env.vm-driver-mac.1.txt")})
    stand_in(tmp_path / "bin", "podman", {"machine": body("podman-machine-inspect.applehv-rosetta-off.1.txt")})
    with engine_for("linux-amd64") as engine:
        env = isolated_env(
            tmp_path,
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),  # Podman's machine folder (isolated_env points it elsewhere)
            DOCKER_HOST=engine.base_url,
            PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        )
        result = dockdoctor("check", "--json", "--no-project", env=env, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    settings = result.json()["facts"]["emulation"]["settings"]
    assert [(s["product"], s["profile"], s["endpoint"], s["vm_type"], s["rosetta"]) for s in settings] == [
        ("podman", "podman-machine-default", "", "applehv", False),
        ("minikube", "minikube", "tcp://192.168.64.4:2376", "", None),
    ]


def test_podman_info_recordings() -> None:
    """`podman info` as pasted in containers' issue threads (YAML): arch, OS image, version, emulated platforms."""
    from dockdoctor.probes.vms import parse_podman_info

    coreos = parse_podman_info(body("podman-info.machine-5.6.2-coreos-arm64.1.txt"))
    bootc = parse_podman_info(body("podman-info.machine-6.0.2-podman-machine-os-arm64.1.txt"))
    assert coreos is not None and bootc is not None
    assert (coreos.arch, coreos.version, coreos.image) == ("arm64", "5.6.2", "fedora coreos 42")
    assert (bootc.arch, bootc.version, bootc.image) == ("arm64", "6.0.2", "fedora podman-machine-os 44")
    for info in (coreos, bootc):
        assert info.emulated_platforms is not None and "linux/amd64" in info.emulated_platforms
        assert "linux/riscv64" not in info.emulated_platforms and "linux/ppc64le" not in info.emulated_platforms
    # the same answer as `podman info --format json` gives it; an answer without the list says "not reported"
    as_json = json.dumps({"host": {"arch": "arm64", "emulatedArchitectures": []}, "version": {"Version": "5.0.2"}})
    empty = parse_podman_info(as_json)
    assert empty is not None and (empty.emulated_platforms, empty.version) == ((), "5.0.2")
    older = parse_podman_info(json.dumps({"host": {"arch": "amd64"}}))
    assert older is not None and older.emulated_platforms is None
    assert parse_podman_info("Error: unable to connect to Podman socket") is None
    assert parse_podman_info("host: [") is None and parse_podman_info("") is None


def test_podman_info_is_asked_of_a_running_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real subprocess door: `podman info --format json` only when a machine runs; slow is a probe error."""
    from dockdoctor.probes.vms import podman_machine_settings

    machines = tmp_path / ".config" / "containers" / "podman" / "machine" / "applehv"
    machines.mkdir(parents=True)
    (machines / "podman-machine-default.json").write_text("{}")
    # the recorded inspect of podman-desktop#19100 with the State field its reporter left out, set to running
    inspect = json.loads(body("podman-machine-inspect.applehv-rosetta-off.1.txt"))
    inspect[0]["State"] = "running"
    stand_in(
        tmp_path / "bin",
        "podman",
        {"machine": json.dumps(inspect), "info": body("podman-info.machine-6.0.2-podman-machine-os-arm64.1.txt")},
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    found, errors = podman_machine_settings(home=str(tmp_path), env={}, timeout=BUDGET)
    assert errors == []
    ((machine),) = found
    assert (machine.profile, machine.rosetta, machine.arch, machine.version) == (
        "podman-machine-default",
        False,
        "arm64",
        "6.0.2",
    )
    assert machine.emulated_platforms == ("linux/386", "linux/amd64", "linux/arm64be")
    assert machine.source == "podman machine inspect + podman info"
    stand_in(tmp_path / "slow", "podman", {"machine": json.dumps(inspect), "info": ""})
    script = tmp_path / "slow" / "podman"
    script.write_text(script.read_text().replace("'info') cat", "'info') sleep 30; cat"))
    monkeypatch.setenv("PATH", f"{tmp_path / 'slow'}{os.pathsep}/usr/bin:/bin")
    found, errors = podman_machine_settings(home=str(tmp_path), env={}, timeout=0.5)
    assert [e.kind for e in errors] == ["timeout"] and found[0].emulated_platforms is None


def test_wsl_list_recordings() -> None:
    """`wsl.exe -l -v` as pasted in docker/for-win#14686 and microsoft/WSL#4385, and as wsl.exe writes it (UTF-16)."""
    from dockdoctor.probes.vms import parse_wsl_list

    found = parse_wsl_list(body("wsl-list-verbose.docker-desktop-v1-and-v2-distros.1.txt"))
    assert [(s.profile, s.status, s.vm_type, s.default) for s in found] == [
        ("Ubuntu", "Running", "wsl2", True),
        ("Legacy", "Stopped", "wsl1", False),
        ("Ubuntu-18.04", "Stopped", "wsl1", False),
        ("docker-desktop", "Running", "wsl2", False),
    ]
    (one,) = parse_wsl_list(body("wsl-list-verbose.ubuntu-wsl2.1.txt"))  # a prompt line before the table
    assert (one.profile, one.vm_type, one.default) == ("Ubuntu", "wsl2", True)
    utf16 = body("wsl-list-verbose.ubuntu-wsl2.1.txt").encode("utf-16-le").decode("latin-1")
    assert [s.profile for s in parse_wsl_list(utf16)] == ["Ubuntu"]
    assert parse_wsl_list("Windows Subsystem for Linux has no installed distributions.") == []


def test_wsl_is_asked_only_inside_wsl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockdoctor.probes.vms import wsl_settings

    assert wsl_settings(env={}, timeout=BUDGET) == ([], [])  # not WSL, not Windows: not asked
    stand_in(tmp_path / "bin", "wsl.exe", {"-l": body("wsl-list-verbose.docker-desktop-v1-and-v2-distros.1.txt")})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    found, errors = wsl_settings(env={"WSL_DISTRO_NAME": "Ubuntu"}, timeout=BUDGET)
    assert errors == [] and [s.profile for s in found if s.default] == ["Ubuntu"]
    stand_in(tmp_path / "slow", "wsl.exe", "", sleep=30)
    monkeypatch.setenv("PATH", f"{tmp_path / 'slow'}{os.pathsep}/usr/bin:/bin")
    assert [e.kind for e in wsl_settings(env={"WSL_DISTRO_NAME": "Ubuntu"}, timeout=0.5)[1]] == ["timeout"]
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert [e.kind for e in wsl_settings(env={"WSL_DISTRO_NAME": "Ubuntu"}, timeout=BUDGET)[1]] == ["not-found"]
