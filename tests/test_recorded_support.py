"""Checks the recorded-engine support: fixtures, text parsers and the fake Engine API socket server."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.recorded import (
    FIXTURES,
    RecordedEngine,
    client_from_info_text,
    client_from_version_text,
    engine_for,
    info_from_text,
    info_unparsed,
    read_recording,
    recorded_flavours,
    version_from_text,
)

SHARED = Path("/work/shared/recorded/engines")
GIB = 1024**3

# key: (Name, OperatingSystem, Architecture, ServerVersion, KernelVersion, NCPU, Driver)
INFO = {
    "colima-mac-arm64": ("colima", "Ubuntu 24.04 LTS", "aarch64", "26.1.1", "6.8.0-31-generic", 2, "overlay2"),
    "docker-desktop-mac-arm64": (
        "docker-desktop",
        "Docker Desktop",
        "aarch64",
        "29.4.0",
        "6.12.76-linuxkit",
        8,
        "overlayfs",
    ),
    "docker-desktop-mac-intel": (
        "docker-desktop",
        "Docker Desktop",
        "x86_64",
        "20.10.17",
        "5.10.104-linuxkit",
        2,
        "overlay2",
    ),
    "docker-desktop-windows-wsl2": (
        "docker-desktop",
        "Docker Desktop",
        "x86_64",
        "29.2.1",
        "6.6.87.2-microsoft-standard-WSL2",
        4,
        "overlayfs",
    ),
    "linux-amd64": (
        "localhost.localdomain",
        "Ubuntu 24.04.2 LTS",
        "x86_64",
        "27.5.1",
        "6.8.0-64-generic",
        2,
        "overlay2",
    ),
    "linux-arm64-raspberrypi": (
        "pi4-8g",
        "Debian GNU/Linux 11 (bullseye)",
        "aarch64",
        "20.10.5+dfsg1",
        "6.1.21-v8+",
        4,
        "overlay2",
    ),
    "orbstack-mac-arm64": (
        "orbstack",
        "OrbStack",
        "aarch64",
        "28.5.2",
        "6.17.8-orbstack-00308-g8f9c941121b1",
        15,
        "overlay2",
    ),
    "rancher-desktop-mac-intel": (
        "lima-rancher-desktop",
        "Alpine Linux v3.20",
        "x86_64",
        "26.1.5",
        "6.6.51-0-virt",
        2,
        "overlay2",
    ),
}
# key: (Platform.Name, Version, ApiVersion, MinAPIVersion, Os, Arch, Experimental, component names)
VERSION = {
    "colima-mac-arm64": (
        "",
        "23.0.6",
        "1.42",
        "1.12",
        "linux",
        "arm64",
        False,
        ["Engine", "containerd", "runc", "docker-init"],
    ),
    "docker-desktop-mac-arm64": (
        "Docker Desktop 4.33.0 (160616)",
        "27.1.1",
        "1.46",
        "1.24",
        "linux",
        "arm64",
        False,
        ["Engine", "containerd", "runc", "docker-init"],
    ),
    "docker-desktop-mac-intel": (
        "Docker Desktop 4.10.1 (82475)",
        "20.10.17",
        "1.41",
        "1.12",
        "linux",
        "amd64",
        False,
        ["Engine", "containerd", "runc", "docker-init"],
    ),
    "linux-amd64": (
        "Docker Engine - Community",
        "28.3.2",
        "1.51",
        "1.24",
        "linux",
        "amd64",
        False,
        ["Engine", "containerd", "runc", "docker-init"],
    ),
    "orbstack-mac-arm64": (
        "Docker Engine - Community",
        "29.4.0",
        "1.54",
        "1.40",
        "linux",
        "arm64",
        True,
        ["Engine", "containerd", "runc", "docker-init"],
    ),
    "podman-linux-amd64": (
        "linux/amd64/ubuntu-22.04",
        "4.5.1",
        "1.41",
        "1.24",
        "linux",
        "amd64",
        False,
        ["Podman Engine", "Conmon", "OCI Runtime (crun)"],
    ),
    "rancher-desktop-mac-intel": (
        "",
        "20.10.20",
        "1.41",
        "1.12",
        "linux",
        "amd64",
        False,
        ["Engine", "containerd", "runc", "docker-init"],
    ),
}
INFO_CONTEXT = {
    "colima-mac-arm64": "colima",
    "docker-desktop-mac-arm64": "desktop-linux",
    "docker-desktop-mac-intel": "default",
    "docker-desktop-windows-wsl2": "desktop-linux",
    "linux-amd64": "default",
    "linux-arm64-raspberrypi": "default",
    "orbstack-mac-arm64": "orbstack",
    "rancher-desktop-mac-intel": "rancher-desktop",
}
# key: (Version, ApiVersion, Os, Arch, Context or None when the old CLI does not print it)
VERSION_CLIENT = {
    "colima-mac-arm64": ("24.0.2", "1.42", "darwin", "arm64", "colima"),
    "docker-desktop-mac-arm64": ("27.1.1", "1.46", "darwin", "arm64", "desktop-linux"),
    "docker-desktop-mac-intel": ("20.10.17", "1.41", "darwin", "amd64", "default"),
    "linux-amd64": ("28.3.2", "1.51", "linux", "amd64", "default"),
    "orbstack-mac-arm64": ("29.4.0", "1.54", "darwin", "arm64", "orbstack"),
    "podman-linux-amd64": ("19.03.4", "1.40", "linux", "amd64", None),
    "rancher-desktop-mac-intel": ("23.0.1-rd", "1.41", "darwin", "amd64", "rancher-desktop"),
}
CLIENT_ONLY_KEYS = {"Context", "Username", "Platform"}


def body(kind: str, key: str) -> str:
    return read_recording(FIXTURES / f"{kind}.{key}.1.txt")[1]


def info(key: str) -> dict[str, Any]:
    return info_from_text(body("docker-info", key))


def version(key: str) -> dict[str, Any]:
    return version_from_text(body("docker-version", key))


# --------------------------------------------------------------------------- fixtures


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared recordings on this machine")
def test_fixtures_are_byte_identical_copies_of_the_shared_recordings() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(p.name for p in SHARED.iterdir())
    for shared in SHARED.iterdir():
        assert (FIXTURES / shared.name).read_bytes() == shared.read_bytes(), shared.name


@pytest.mark.parametrize("path", sorted(p for p in FIXTURES.glob("*.txt")), ids=lambda p: p.name)
def test_every_recording_has_its_header_fields_and_a_verbatim_body(path: Path) -> None:
    fields, text = read_recording(path)
    assert {"source", "date", "flavour", "cues", "command"} <= set(fields)
    head = "".join(line + "\n" for line in path.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines())
    assert head + "\n" + text == path.read_text(encoding="utf-8")
    assert text.strip()


def test_every_flavour_with_an_engine_recording_is_covered_here() -> None:
    assert set(recorded_flavours()) == set(INFO) | set(VERSION)


# --------------------------------------------------------------------------- docker info


@pytest.mark.parametrize("key", sorted(INFO))
def test_info_key_values(key: str) -> None:
    name, os_name, arch, server, kernel, ncpu, driver = INFO[key]
    got = info(key)
    assert (got["Name"], got["OperatingSystem"], got["Architecture"]) == (name, os_name, arch)
    assert (got["ServerVersion"], got["KernelVersion"], got["NCPU"], got["Driver"]) == (server, kernel, ncpu, driver)
    assert got["OSType"] == "linux"
    assert got["ExperimentalBuild"] is False and got["LiveRestoreEnabled"] is False
    assert got["DockerRootDir"] == "/var/lib/docker"
    assert got["CgroupVersion"] == "2" and got["DefaultRuntime"] == "runc"
    assert "127.0.0.0/8" in got["RegistryConfig"]["InsecureRegistryCIDRs"]


@pytest.mark.parametrize("key", sorted(INFO))
def test_info_maps_every_server_line_and_keeps_client_fields_out(key: str) -> None:
    text = body("docker-info", key)
    assert info_unparsed(text) == []
    got = info_from_text(text)
    assert not CLIENT_ONLY_KEYS & set(got)
    assert set(got["Plugins"]) == {"Volume", "Network", "Log"}  # server plugins only, never the CLI's buildx/compose
    assert "OSVersion" not in got  # docker info on these engines never shows it


@pytest.mark.parametrize("key", sorted(INFO))
def test_info_client_section(key: str) -> None:
    client = client_from_info_text(body("docker-info", key))
    assert client["Context"] == INFO_CONTEXT[key]
    names = [p["Name"] for p in client["Plugins"]]
    assert "buildx" in names and "compose" in names
    assert all(p["Vendor"] and p["Version"] for p in client["Plugins"])


def test_info_memory_is_parsed_from_binary_units() -> None:
    assert info("docker-desktop-mac-arm64")["MemTotal"] == pytest.approx(7.653 * GIB, rel=1e-4)
    assert info("orbstack-mac-arm64")["MemTotal"] == pytest.approx(11.72 * GIB, rel=1e-4)
    assert info("colima-mac-arm64")["MemTotal"] == pytest.approx(1.91 * GIB, rel=1e-4)


def test_info_security_options_are_rebuilt_as_api_strings() -> None:
    assert info("colima-mac-arm64")["SecurityOptions"] == [
        "name=apparmor",
        "name=seccomp,profile=builtin",
        "name=cgroupns",
    ]
    assert info("linux-arm64-raspberrypi")["SecurityOptions"] == ["name=seccomp,profile=default", "name=cgroupns"]


def test_info_docker_desktop_details() -> None:
    got = info("docker-desktop-mac-arm64")
    assert got["HttpProxy"] == got["HttpsProxy"] == "http.docker.internal:3128"
    assert got["NoProxy"] == "hubproxy.docker.internal"
    assert got["Labels"] == [
        "com.docker.desktop.address=unix:///Users/leeaain/Library/Containers/com.docker.docker/Data/docker-cli.sock"
    ]
    assert got["DriverStatus"] == [["driver-type", "io.containerd.snapshotter.v1"]]
    assert got["DiscoveredDevices"] == [{"Source": "cdi", "ID": "docker.com/gpu=webgpu"}]
    assert got["CDISpecDirs"] == ["/etc/cdi", "/var/run/cdi"]
    assert got["FirewallBackend"] == {"Driver": "iptables"}
    assert got["RegistryConfig"] == {
        "InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
        "IndexConfigs": {
            "hubproxy.docker.internal:5555": {
                "Name": "hubproxy.docker.internal:5555",
                "Secure": False,
                "Mirrors": [],
                "Official": False,
            }
        },
    }
    assert got["Runtimes"] == {"io.containerd.runc.v2": {}, "runc": {}}
    assert got["ContainerdCommit"] == {"ID": "dea7da592f5d1d2b7755e3a161be07f43fad8f75"}
    assert got["Plugins"]["Network"] == ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"]
    assert info("docker-desktop-windows-wsl2")["Labels"] == [
        "com.docker.desktop.address=npipe://\\\\.\\pipe\\docker_cli"
    ]
    assert info("docker-desktop-mac-intel")["Labels"] == []


def test_info_raspberrypi_warnings_mirrors_and_empty_init_commit() -> None:
    got = info("linux-arm64-raspberrypi")
    assert got["Warnings"] == [
        "WARNING: No memory limit support",
        "WARNING: No swap limit support",
        "WARNING: Support for cgroup v2 is experimental",
    ]
    assert got["RegistryConfig"]["Mirrors"] == ["https://docker.mirrors.ustc.edu.cn/"]
    assert got["IndexServerAddress"] == "https://index.docker.io/v1/"
    assert got["InitCommit"] == {"ID": ""}
    assert "Warnings" not in info("linux-amd64")


def test_info_orbstack_address_pools_and_license() -> None:
    got = info("orbstack-mac-arm64")
    assert len(got["DefaultAddressPools"]) == 31
    assert got["DefaultAddressPools"][0] == {"Base": "192.168.97.0/24", "Size": 24}
    assert got["DefaultAddressPools"][-1] == {"Base": "fd07:b51a:cc66:d000::/56", "Size": 64}
    assert got["ProductLicense"] == "Community Engine"
    assert ["Backing Filesystem", "btrfs"] in got["DriverStatus"]


def test_info_client_side_fields() -> None:
    colima = client_from_info_text(body("docker-info", "colima-mac-arm64"))
    assert colima["Platform"] == {"Name": "Docker Engine - Community"}
    assert colima["Version"] == "27.3.1" and colima["Username"] == "cffnpwr"
    wsl = client_from_info_text(body("docker-info", "docker-desktop-windows-wsl2"))
    sbom = next(p for p in wsl["Plugins"] if p["Name"] == "sbom")  # console-wrapped "(\nAnchore Inc.)"
    assert sbom["Vendor"] == "Anchore Inc." and sbom["Path"].endswith("docker-sbom.exe")
    old = client_from_info_text(body("docker-info", "docker-desktop-mac-intel"))
    assert {"Name": "buildx", "ShortDescription": "Docker Buildx", "Vendor": "Docker Inc.", "Version": "v0.8.2"} in old[
        "Plugins"
    ]
    orb = client_from_info_text(body("docker-info", "orbstack-mac-arm64"))
    assert "desktop" in [p["Name"] for p in orb["Plugins"]]  # Docker Desktop plugins on an OrbStack client


# --------------------------------------------------------------------------- docker version


@pytest.mark.parametrize("key", sorted(VERSION))
def test_version_key_values(key: str) -> None:
    platform, ver, api, min_api, os_name, arch, experimental, components = VERSION[key]
    got = version(key)
    assert got["Platform"] == {"Name": platform}
    assert (got["Version"], got["ApiVersion"], got["MinAPIVersion"]) == (ver, api, min_api)
    assert (got["Os"], got["Arch"], got["Experimental"]) == (os_name, arch, experimental)
    assert [c["Name"] for c in got["Components"]] == components
    assert "KernelVersion" not in got  # docker version never prints the engine's kernel


def test_version_docker_desktop_engine_component() -> None:
    got = version("docker-desktop-mac-arm64")
    assert got["Platform"]["Name"].startswith("Docker Desktop")
    engine = got["Components"][0]
    assert engine == {
        "Name": "Engine",
        "Version": "27.1.1",
        "Details": {
            "ApiVersion": "1.46",
            "MinAPIVersion": "1.24",
            "GoVersion": "go1.21.12",
            "GitCommit": "cc13f95",
            "BuildTime": "Tue Jul 23 19:57:14 2024",
            "Os": "linux",
            "Arch": "arm64",
            "Experimental": "false",
        },
    }
    assert got["Components"][2] == {"Name": "runc", "Version": "1.7.19", "Details": {"GitCommit": "v1.1.13-0-g58aa920"}}


def test_version_podman_components() -> None:
    got = version("podman-linux-amd64")
    podman, conmon, crun = got["Components"]
    assert podman["Name"] == "Podman Engine" and podman["Version"] == "4.5.1"
    assert podman["Details"]["KernelVersion"] == "5.15.0-1041-azure"
    assert podman["Details"]["MinAPIVersion"] == "4.0.0" and podman["Details"]["GitCommit"] == ""
    assert conmon["Details"] == {"Package": "conmon_2:2.1.7-0ubuntu22.04+obs15.52_amd64"}
    assert crun["Version"].splitlines() == [
        "crun version 1.8.4",
        "commit: 5a8fa99a5e41facba2eda4af12fa26313918805b",
        "rundir: /run/user/1001/crun",
        "spec: 1.0.0",
        "+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL",
    ]
    assert crun["Details"] == {"Package": "crun_101:1.8.4-0ubuntu22.04+obs55.14_amd64"}
    assert got["GitCommit"] == "" and got["GoVersion"] == "go1.18.1"


def test_version_unbranded_servers_and_missing_commit() -> None:
    colima = version("colima-mac-arm64")
    assert colima["GitCommit"] == "9dbdbd4b6d7681bd18c897a6ba0376073c2a72ff"
    assert colima["Components"][-1] == {"Name": "docker-init", "Version": "0.19.0", "Details": {}}
    assert version("rancher-desktop-mac-intel")["Components"][-1]["Details"] == {"GitCommit": ""}


@pytest.mark.parametrize("key", sorted(VERSION_CLIENT))
def test_version_client_section(key: str) -> None:
    ver, api, os_name, arch, context = VERSION_CLIENT[key]
    client = client_from_version_text(body("docker-version", key))
    assert (client["Version"], client["ApiVersion"], client["Os"], client["Arch"]) == (ver, api, os_name, arch)
    assert client.get("Context") == context


def test_version_client_downgrade_and_cloud_integration() -> None:
    colima = client_from_version_text(body("docker-version", "colima-mac-arm64"))
    assert colima["DefaultAPIVersion"] == "1.43" and colima["CloudIntegration"] == "v1.0.33"
    assert client_from_version_text(body("docker-version", "linux-amd64"))["Platform"] == {
        "Name": "Docker Engine - Community"
    }


# --------------------------------------------------------------------------- the fake engine


def raw_request(eng: RecordedEngine, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("engine", timeout=5)
    conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.sock.settimeout(5)
    conn.sock.connect(eng.socket_path)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("key", sorted(set(INFO) & set(VERSION)))
def test_docker_sdk_reads_version_and_info_back(key: str) -> None:
    with engine_for(key) as eng:
        client = docker.APIClient(base_url=eng.base_url, version="auto", timeout=5)
        try:
            assert client.version(api_version=False) == eng.version
            assert client.version() == eng.version
            assert client.info() == eng.info
            assert client.ping() is True
        finally:
            client.close()
    api = VERSION[key][2]
    assert eng.requests == ["/version", "/version", f"/v{api}/version", f"/v{api}/info", f"/v{api}/_ping"]
    assert eng.info == info(key) and eng.version == version(key)


@pytest.mark.parametrize("key", ["docker-desktop-windows-wsl2", "linux-arm64-raspberrypi"])
def test_info_only_recording(key: str) -> None:
    with engine_for(key) as eng:
        with pytest.raises(docker.errors.DockerException, match="not recorded"):
            docker.APIClient(base_url=eng.base_url, version="auto", timeout=5)
        client = docker.APIClient(base_url=eng.base_url, version="1.41", timeout=5)
        try:
            assert client.info()["Name"] == INFO[key][0]
        finally:
            client.close()


def test_version_only_recording_answers_500_for_info() -> None:
    with engine_for("podman-linux-amd64") as eng:
        client = docker.APIClient(base_url=eng.base_url, version="auto", timeout=5)
        try:
            assert [c["Name"] for c in client.version()["Components"]][0] == "Podman Engine"
            with pytest.raises(docker.errors.APIError) as err:
                client.info()
            assert err.value.status_code == 500 and err.value.explanation == "not recorded"
        finally:
            client.close()


def test_ping_headers_and_unknown_routes() -> None:
    with engine_for("docker-desktop-mac-arm64") as eng:
        status, headers, data = raw_request(eng, "GET", "/_ping")
        assert (status, data) == (200, b"OK")
        assert headers["api-version"] == "1.46" and headers["ostype"] == "linux"
        assert headers["docker-experimental"] == "false"
        assert headers["server"] == "Docker/27.1.1 (linux)"
        status, headers, data = raw_request(eng, "HEAD", "/v1.46/_ping")
        assert (status, data, headers["content-length"]) == (200, b"", "0")
        status, headers, data = raw_request(eng, "GET", "/v1.46/containers/json")
        assert status == 404 and json.loads(data) == {"message": "page not found"}
        status, _, data = raw_request(eng, "POST", "/v1.46/info")
        assert status == 404
        status, headers, data = raw_request(eng, "GET", "/info?x=1")
        assert status == 200 and headers["content-type"] == "application/json"
        assert json.loads(data)["Name"] == "docker-desktop"
    assert eng.requests == ["/_ping", "/v1.46/_ping", "/v1.46/containers/json", "/v1.46/info", "/info"]


def test_ping_headers_fall_back_and_follow_podman() -> None:
    with RecordedEngine(info=info("linux-arm64-raspberrypi")) as eng:
        _, headers, _ = raw_request(eng, "GET", "/_ping")
        assert headers["api-version"] == "1.41" and headers["server"] == "Docker/20.10.5+dfsg1 (linux)"
        status, _, data = raw_request(eng, "GET", "/v1.41/version")
        assert status == 500 and json.loads(data) == {"message": "not recorded"}
    with engine_for("podman-linux-amd64") as eng:
        _, headers, _ = raw_request(eng, "GET", "/_ping")
        assert headers["api-version"] == "1.41" and headers["libpod-api-version"] == "4.5.1"
        assert headers["server"] == "Libpod/4.5.1 (linux)"
    with RecordedEngine() as eng:
        status, headers, _ = raw_request(eng, "GET", "/_ping")
        assert status == 200 and headers["api-version"] == "1.41" and "ostype" not in headers


def test_engine_shuts_down_cleanly_even_with_an_open_keepalive_client() -> None:
    before = set(threading.enumerate())
    with engine_for("orbstack-mac-arm64") as eng:
        client = docker.APIClient(base_url=eng.base_url, version="auto", timeout=5)
        assert client.info()["OperatingSystem"] == "OrbStack"
        path = eng.socket_path
        assert os.path.exists(path)
    leaked = set(threading.enumerate()) - before
    assert not leaked, [(t.name, t.is_alive(), getattr(t, "_target", None)) for t in leaked]
    assert not os.path.exists(os.path.dirname(path))
    client.close()


def test_engine_for_unknown_flavour() -> None:
    with pytest.raises(FileNotFoundError):
        engine_for("no-such-flavour")
