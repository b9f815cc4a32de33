"""The Mac engines' own emulation settings: Docker Desktop's settings file, every Colima profile, every Lima instance.

Only what each product really exposes: Colima's `colima list --json` (name, status, arch) and each profile's
`colima.yaml` (arch, vmType, rosetta); Lima's `limactl list --json` (a stream of JSON objects); Docker Desktop's
`settings-store.json` / `settings.json`; Podman's `podman machine inspect` (provider, Rosetta, rootful, state) of every
machine; minikube's `docker-env` (its engine's address); Finch's VM (its own Lima's `limactl ls`). A missing or
slow CLI is a recorded probe error, never a hang.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from dockdoctor.model import EngineSettings, ProbeError, ProbeErrorKind
from dockdoctor.platforms import PlatformError, checked, from_machine, parse
from dockdoctor.probes._run import read_text, run


def _arch(value: str, host_arch: str) -> str:
    """`aarch64` -> arm64, `x86_64` -> amd64, Colima's `host` -> the host's; "" when unknown."""
    if not value:
        return ""
    if value in ("host", "default"):
        return host_arch
    try:
        return from_machine(value, os="linux").architecture
    except PlatformError:
        return value


def json_stream(text: str) -> list[dict[str, Any]]:
    """Every JSON object in `text`: one per line (`colima list --json`) or pretty-printed back to back
    (`limactl list --json`, which is a stream of objects, not an array)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = 0
    while True:
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
        if index >= len(text):
            return found
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return found
        if isinstance(value, dict):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, dict))


def yaml_scalars(text: str, keys: tuple[str, ...]) -> dict[str, str]:
    """Top-level `key: value` scalars of a YAML file (comments and nested keys ignored)."""
    out: dict[str, str] = {}
    for key in keys:
        match = re.search(rf"(?m)^{re.escape(key)}:[ \t]*([^#\n]*?)[ \t]*(?:#.*)?$", text)
        if match:
            out[key] = match.group(1).strip().strip("\"'")
    return out


def parse_tool_version(text: str, tool: str) -> str:
    """`colima version 0.9.1`, `colima version HEAD-ba1be00`, `limactl version 0.19.0` -> the version; "" if absent."""
    match = re.search(rf"(?m)^{re.escape(tool)} version (v?\d[\w.+~-]*|HEAD-\w+)", text)
    return match.group(1) if match else ""


def _stdout(argv: tuple[str, ...], what: str, timeout: float, env: Mapping[str, str] | None = None) -> str | ProbeError:
    """A VM tool's answer: its stdout when it exits 0, else the probe error naming `what` ran and how it ended."""
    result = run("vms", argv, timeout=timeout, env=env)
    if isinstance(result, ProbeError):
        return result
    if result.code != 0:
        detail = f"{what}: exit {result.code}: {result.stderr.strip()[:200]}"
        return ProbeError(probe="vms", kind=ProbeErrorKind.ERROR, detail=detail)
    return result.stdout


def _version(tool: str, argv: tuple[str, ...], timeout: float, errors: list[ProbeError]) -> str:
    result = run("vms", argv, timeout=timeout)
    if isinstance(result, ProbeError):
        errors.append(result)
        return ""
    return parse_tool_version(result.stdout, tool)


def _bool(text: str | None) -> bool | None:
    return {"true": True, "false": False}.get((text or "").lower())


def colima_settings(
    *,
    home: str,
    env: Mapping[str, str],
    host_arch: str,
    timeout: float,
) -> tuple[list[EngineSettings], list[ProbeError]]:
    """Every Colima profile: its colima.yaml (arch, vmType, rosetta) and `colima list --json` (status, arch)."""
    root = env.get("COLIMA_HOME") or os.path.join(home, ".colima")
    try:
        names = sorted(
            n
            for n in os.listdir(root)
            if not n.startswith("_") and os.path.isfile(os.path.join(root, n, "colima.yaml"))
        )
    except OSError:
        names = []
    errors: list[ProbeError] = []
    listed: dict[str, dict[str, Any]] = {}
    if names:
        answer = _stdout(("colima", "list", "--json"), "colima list --json", timeout)
        if isinstance(answer, ProbeError):
            errors.append(answer)
        else:
            listed = {str(item.get("name", "")): item for item in json_stream(answer)}
    version = _version("colima", ("colima", "version"), timeout, errors) if listed else ""
    found = []
    for name in names:
        path = os.path.join(root, name, "colima.yaml")
        text = read_text("vms", path)
        if isinstance(text, ProbeError):
            errors.append(text)
            continue
        conf = yaml_scalars(text or "", ("arch", "vmType", "rosetta"))
        item = listed.get(name, {})
        found.append(
            EngineSettings(
                product="colima",
                source=path,
                profile=name,
                rosetta=_bool(conf.get("rosetta")),
                vm_type=conf.get("vmType", ""),
                arch=_arch(str(item.get("arch") or conf.get("arch", "")), host_arch),
                status=str(item.get("status", "")),
                version=version,
            )
        )
    return found, errors


def lima_settings(
    *,
    home: str,
    env: Mapping[str, str],
    host_arch: str,
    timeout: float,
) -> tuple[list[EngineSettings], list[ProbeError]]:
    """Every Lima instance of `limactl list --json` (name, status, arch, vmType), with Rosetta from its lima.yaml."""
    root = env.get("LIMA_HOME") or os.path.join(home, ".lima")
    if not os.path.isdir(root):
        return [], []
    answer = _stdout(("limactl", "list", "--json"), "limactl list --json", timeout)
    if isinstance(answer, ProbeError):
        return [], [answer]
    found: list[EngineSettings] = []
    errors: list[ProbeError] = []
    items = json_stream(answer)
    version = _version("limactl", ("limactl", "--version"), timeout, errors) if items else ""
    for item in items:
        name = str(item.get("name", ""))
        directory = str(item.get("dir") or os.path.join(root, name))
        text = read_text("vms", os.path.join(directory, "lima.yaml"))
        if isinstance(text, ProbeError):
            errors.append(text)
            text = None
        rosetta = re.search(r"(?m)^rosetta:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+enabled:[ \t]*(true|false)", text or "")
        found.append(
            EngineSettings(
                product="lima",
                source="limactl list --json",
                profile=name,
                rosetta=_bool(rosetta.group(1)) if rosetta else None,
                vm_type=str(item.get("vmType") or ""),
                arch=_arch(str(item.get("arch") or ""), host_arch),
                status=str(item.get("status", "")),
                version=version,
            )
        )
    return found, errors


def docker_desktop_settings(home: str) -> tuple[list[EngineSettings], list[ProbeError]]:
    """Docker Desktop's VM type and Rosetta from settings-store.json (4.35 and later) or settings.json.

    `UseVirtualizationFramework` true is the Apple Virtualization framework (vz), false QEMU on Apple Silicon;
    `UseVirtualizationFrameworkRosetta` is "Use Rosetta for x86_64/amd64 emulation on Apple Silicon".
    """
    group = os.path.join(home, "Library", "Group Containers", "group.com.docker")
    for name in ("settings-store.json", "settings.json"):
        path = os.path.join(group, name)
        text = read_text("vms", path)
        if text is None:
            continue
        if isinstance(text, ProbeError):
            return [], [text]
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return [], [ProbeError(probe="vms", kind=ProbeErrorKind.CONFIG, detail=f"{path}: invalid JSON")]
        if not isinstance(data, dict):
            return [], [ProbeError(probe="vms", kind=ProbeErrorKind.CONFIG, detail=f"{path}: expected a JSON object")]
        keys = {str(k).lower(): v for k, v in data.items()}
        framework = keys.get("usevirtualizationframework")
        rosetta = keys.get("usevirtualizationframeworkrosetta")
        return [
            EngineSettings(
                product="docker-desktop",
                source=path,
                vm_type={True: "vz", False: "qemu"}.get(framework, "") if isinstance(framework, bool) else "",
                rosetta=rosetta if isinstance(rosetta, bool) else None,
            )
        ], []
    return [], []


@functools.cache
def _export() -> re.Pattern[str]:
    """The `minikube docker-env` line pattern, compiled when a minikube VM is asked (case-insensitive: 0.6 ms)."""
    return re.compile(
        r"""^(?:export[ \t]+|SET[ \t]+)([A-Za-z_][A-Za-z0-9_]*)="""
        r"""(?:"([^"\n]*)"|'([^'\n]*)'|(\S*))[ \t]*$""",
        re.M | re.I,
    )


def parse_docker_env(text: str) -> dict[str, str]:
    """`minikube docker-env` -> its variables: `export NAME="value"` (POSIX shells) or `SET NAME=value` (cmd.exe).

    Comment lines (`# eval $(minikube -p minikube docker-env)`, `REM ...`) and anything else are ignored.
    """
    found: dict[str, str] = {}
    for match in _export().finditer(text):
        found[match.group(1)] = next((g for g in match.groups()[1:] if g is not None), "")
    return found


def minikube_settings(
    *,
    home: str,
    env: Mapping[str, str],
    timeout: float,
) -> tuple[list[EngineSettings], list[ProbeError]]:
    """The engine address of minikube's active profile, from `minikube docker-env` (only where ~/.minikube exists).

    MINIKUBE_ACTIVE_DOCKERD names the profile; DOCKER_HOST is tcp://<node>:2376 (TLS) or ssh:// with --ssh-host.
    """
    root = env.get("MINIKUBE_HOME") or os.path.join(home, ".minikube")
    if not os.path.isdir(root):
        return [], []
    result = run("vms", ("minikube", "docker-env"), timeout=timeout)
    if isinstance(result, ProbeError):
        return [], [result]
    if result.code != 0:
        reason = (result.stderr.strip() or result.stdout.strip()).splitlines()
        return [], [
            ProbeError(
                probe="vms",
                kind=ProbeErrorKind.ERROR,
                detail=f"minikube docker-env: exit {result.code}: {(reason or [''])[0][:200]}",
            )
        ]
    variables = parse_docker_env(result.stdout)
    if not variables.get("DOCKER_HOST"):
        return [], [
            ProbeError(
                probe="vms", kind=ProbeErrorKind.PROTOCOL, detail="minikube docker-env: no DOCKER_HOST in its output"
            )
        ]
    return [
        EngineSettings(
            product="minikube",
            source="minikube docker-env",
            profile=variables.get("MINIKUBE_ACTIVE_DOCKERD", ""),
            endpoint=variables["DOCKER_HOST"],
        )
    ], []


PODMAN_PROVIDERS = ("applehv", "libkrun", "qemu", "wsl")


def parse_podman_machine_inspect(text: str) -> list[EngineSettings]:
    """`podman machine inspect` (a JSON array of machines) -> one EngineSettings per machine.

    The provider (VM type) is the last folder of `ConfigDir.Path` (~/.config/containers/podman/machine/applehv), or
    the folder of Podman 4's `ConfigPath.Path` (.../machine/qemu/a.json);
    `Rosetta` exists from Podman 5.1, `Rootful` and `State` where the machine config has them.
    """
    found = []
    for item in json_stream(text):
        config_dir, config_path = item.get("ConfigDir"), item.get("ConfigPath")  # ConfigPath: Podman 4 (<name>.json)
        if isinstance(config_dir, dict):
            path = str(config_dir.get("Path") or "")
        else:
            path = os.path.dirname(str(config_path.get("Path") or "")) if isinstance(config_path, dict) else ""
        provider = os.path.basename(path.rstrip("/\\"))
        rosetta, rootful = item.get("Rosetta"), item.get("Rootful")
        found.append(
            EngineSettings(
                product="podman",
                source="podman machine inspect",
                profile=str(item.get("Name") or ""),
                vm_type=provider if provider in PODMAN_PROVIDERS else "",
                status=str(item.get("State") or ""),
                rosetta=rosetta if isinstance(rosetta, bool) else None,
                rootful=rootful if isinstance(rootful, bool) else None,
            )
        )
    return found


def podman_machine_settings(
    *,
    home: str,
    env: Mapping[str, str],
    timeout: float,
) -> tuple[list[EngineSettings], list[ProbeError]]:
    """Every Podman machine: the `<name>.json` files of each provider folder, then `podman machine inspect NAME...`."""
    root = os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "containers", "podman", "machine")
    names: list[str] = []
    for provider in PODMAN_PROVIDERS:
        try:
            names += sorted(
                n[:-5]
                for n in os.listdir(os.path.join(root, provider))
                if n.endswith(".json") and not n.startswith(".")
            )
        except OSError:
            continue
    if not names:
        return [], []
    answer = _stdout(("podman", "machine", "inspect", *names), "podman machine inspect", timeout)
    if isinstance(answer, ProbeError):
        return [], [answer]
    found = parse_podman_machine_inspect(answer)
    if len(found) == len(names):  # inspect answers in the order asked; a machine without "Name" keeps its file's
        found = [s if s.profile else _replace(s, profile=name) for s, name in zip(found, names, strict=True)]
    return _with_podman_info(found, timeout)


def _load_json_or_yaml(text: str) -> Any:
    """`--format json` answers, and YAML as people paste `podman info`: YAML 1.2 reads both; None when neither."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except (YAMLError, ValueError, RecursionError):
        return None


def parse_podman_info(text: str) -> EngineSettings | None:
    """`podman info` of a Podman machine -> its architecture, OS image, version and emulated platforms.

    Read from `host.arch`, `host.distribution` (distribution, variant, version: "fedora coreos 42"),
    `host.emulatedArchitectures` (the machine's binfmt_misc handlers as platforms: linux/amd64 is missing when the
    machine image has no qemu-user-static and Rosetta is off) and `Client.Version` (or `version.Version`). None when
    the text is not a `podman info` answer (no `host` mapping).
    """
    data = _load_json_or_yaml(text)
    host = data.get("host") if isinstance(data, dict) else None
    if not isinstance(host, dict):
        return None
    dist: dict[str, Any] = host["distribution"] if isinstance(host.get("distribution"), dict) else {}
    image = " ".join(str(dist[k]) for k in ("distribution", "variant", "version") if dist.get(k) not in (None, ""))
    emulated = host.get("emulatedArchitectures")
    platforms: tuple[str, ...] | None = None
    if isinstance(emulated, list):
        found = []
        for item in emulated:
            try:
                found.append(checked(parse(str(item))))
            except PlatformError:
                continue  # linux/arm64be and the like: not a platform dockdoctor names
        platforms = tuple(sorted(set(found)))
    version = ""
    for section in ("Client", "version"):
        block = data.get(section)
        if isinstance(block, dict) and block.get("Version"):
            version = str(block["Version"])
            break
    return EngineSettings(
        product="podman",
        source="podman info",
        arch=_arch(str(host.get("arch") or ""), ""),
        version=version,
        image=image,
        emulated_platforms=platforms,
    )


def _with_podman_info(found: list[EngineSettings], timeout: float) -> tuple[list[EngineSettings], list[ProbeError]]:
    """`podman info --format json` of the default connection, merged into the one running machine (else its own)."""
    if not any(s.status.lower() == "running" for s in found):
        return found, []
    answer = _stdout(("podman", "info", "--format", "json"), "podman info", timeout)
    if isinstance(answer, ProbeError):
        return found, [answer]
    info = parse_podman_info(answer)
    if info is None:
        return found, [
            ProbeError(probe="vms", kind=ProbeErrorKind.PROTOCOL, detail="podman info: not a podman info answer")
        ]
    running = [i for i, s in enumerate(found) if s.status.lower() == "running"]
    if len(running) != 1:
        return [*found, info], []
    machine = found[running[0]]
    merged = _replace(
        machine,
        arch=info.arch or machine.arch,
        version=info.version or machine.version,
        image=info.image,
        emulated_platforms=info.emulated_platforms,
        source=f"{machine.source} + podman info",
    )
    return [merged if i == running[0] else s for i, s in enumerate(found)], []


def _replace(settings: EngineSettings, **changes: Any) -> EngineSettings:
    return dataclasses.replace(settings, **changes)


def parse_limactl_table(text: str) -> list[dict[str, str]]:
    """`limactl ls` (a table: NAME STATUS SSH ARCH CPUS MEMORY DISK DIR) -> one dict per row, keyed by header."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("NAME"):
        return []
    header = lines[0].split()
    return [dict(zip(header, line.split(None, len(header) - 1), strict=False)) for line in lines[1:]]


FINCH_ROOT = "/Applications/Finch"


def finch_settings(
    *,
    env: Mapping[str, str],
    host_arch: str,
    timeout: float,
    root: str = FINCH_ROOT,
) -> tuple[list[EngineSettings], list[ProbeError]]:
    """Finch's VM through its own Lima (`LIMA_HOME=<root>/lima/data <root>/lima/bin/limactl ls`, runfinch/finch#23).

    Finch runs nerdctl and containerd in that VM and serves no Docker Engine API: the docker CLI, compose and
    buildx cannot reach it, so only these facts (VM, architecture, status) are known about it.
    """
    data = os.path.join(root, "lima", "data")
    if not os.path.isdir(data):
        return [], []
    answer = _stdout(
        (os.path.join(root, "lima", "bin", "limactl"), "ls"), "finch's limactl ls", timeout, {**env, "LIMA_HOME": data}
    )
    if isinstance(answer, ProbeError):
        return [], [answer]
    return [
        EngineSettings(
            product="finch",
            source=f"LIMA_HOME={data} limactl ls",
            profile=row.get("NAME", ""),
            arch=_arch(row.get("ARCH", ""), host_arch),
            status=row.get("STATUS", ""),
        )
        for row in parse_limactl_table(answer)
    ], []


def probe_vm_settings(
    *, home: str, env: Mapping[str, str], host_arch: str, timeout: float = 3.0
) -> tuple[tuple[EngineSettings, ...], tuple[ProbeError, ...]]:
    """Docker Desktop, Colima, Lima, Podman machine, minikube and Finch settings (a product not there adds nothing)."""
    settings: list[EngineSettings] = []
    errors: list[ProbeError] = []
    for found, errs in (
        docker_desktop_settings(home),
        colima_settings(home=home, env=env, host_arch=host_arch, timeout=timeout),
        lima_settings(home=home, env=env, host_arch=host_arch, timeout=timeout),
        podman_machine_settings(home=home, env=env, timeout=timeout),
        minikube_settings(home=home, env=env, timeout=timeout),
        finch_settings(env=env, host_arch=host_arch, timeout=timeout),
    ):
        settings += found
        errors += errs
    return tuple(settings), tuple(errors)


def parse_wsl_list(text: str) -> list[EngineSettings]:
    """`wsl.exe -l -v` (NAME STATE VERSION, `*` on the default) -> one EngineSettings per WSL distribution.

    wsl.exe writes UTF-16LE to a pipe: NUL bytes and a byte-order mark are dropped before the table is read.
    `vm_type` is `wsl1` or `wsl2`; Docker Desktop's own distributions (docker-desktop, docker-desktop-data) are
    listed like the others.
    """
    lines = [line.rstrip() for line in text.replace("\x00", "").lstrip("\ufeff").splitlines() if line.strip()]
    header = next((i for i, line in enumerate(lines) if line.split()[:3] == ["NAME", "STATE", "VERSION"]), None)
    if header is None:
        return []
    found = []
    for line in lines[header + 1 :]:
        default = line.lstrip().startswith("*")
        parts = line.strip().lstrip("*").split()
        if len(parts) < 3 or not parts[-1].isdigit():
            continue
        found.append(
            EngineSettings(
                product="wsl",
                source="wsl.exe -l -v",
                profile=" ".join(parts[:-2]),
                status=parts[-2],
                vm_type=f"wsl{parts[-1]}",
                default=default,
            )
        )
    return found


def wsl_settings(*, env: Mapping[str, str], timeout: float) -> tuple[list[EngineSettings], list[ProbeError]]:
    """The WSL distributions, from Windows or from inside a WSL distribution (`WSL_DISTRO_NAME` set), else none."""
    if os.name != "nt" and not env.get("WSL_DISTRO_NAME"):
        return [], []
    result = run("vms", ("wsl.exe", "-l", "-v"), timeout=timeout)
    if isinstance(result, ProbeError):
        return [], [result]
    found = parse_wsl_list(result.stdout)
    if result.code != 0 or not found:
        detail = f"wsl.exe -l -v: exit {result.code}: {(result.stderr or result.stdout).replace(chr(0), '')[:200]}"
        return [], [ProbeError(probe="vms", kind=ProbeErrorKind.ERROR, detail=detail.strip())]
    return found, []


def probe_other_settings(
    *, home: str, env: Mapping[str, str], timeout: float = 3.0
) -> tuple[tuple[EngineSettings, ...], tuple[ProbeError, ...]]:
    """Off a Mac: the products that run there too, Podman machines and minikube, and WSL's distributions."""
    settings: list[EngineSettings] = []
    errors: list[ProbeError] = []
    for found, errs in (
        podman_machine_settings(home=home, env=env, timeout=timeout),
        minikube_settings(home=home, env=env, timeout=timeout),
        wsl_settings(env=env, timeout=timeout),
    ):
        settings += found
        errors += errs
    return tuple(settings), tuple(errors)


__all__ = [
    "json_stream",
    "parse_docker_env",
    "parse_limactl_table",
    "parse_podman_info",
    "parse_podman_machine_inspect",
    "parse_wsl_list",
    "probe_other_settings",
    "probe_vm_settings",
    "yaml_scalars",
]
