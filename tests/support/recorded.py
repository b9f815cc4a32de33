"""Recorded `docker info` / `docker version` text turned into Engine API answers served on a unix socket."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "engines"

# --------------------------------------------------------------------------- recordings


def read_recording(path: str | Path) -> tuple[dict[str, str], str]:
    """The `# key: value` header fields of a recording and its verbatim output body."""
    text = Path(path).read_text(encoding="utf-8")
    head, sep, body = text.partition("\n\n")
    if not sep or not all(line.startswith("#") for line in head.splitlines()):
        raise ValueError(f"{path}: no '# ' header block followed by one blank line")
    fields: dict[str, str] = {}
    for line in head.splitlines():
        key, colon, value = line[1:].strip().partition(":")
        if colon and key.strip():
            fields[key.strip()] = value.strip()
    return fields, body


def recorded_flavours(fixtures: Path = FIXTURES) -> list[str]:
    """Flavour keys that have a docker-info or docker-version recording."""
    keys = {
        p.name.split(".", 1)[1].rsplit(".", 2)[0]
        for p in fixtures.glob("docker-*.*.1.txt")
        if p.name.startswith(("docker-info.", "docker-version."))
    }
    return sorted(keys)


# --------------------------------------------------------------------------- text layout

_SECTION = re.compile(r"^(Client|Server):(?: (.*))?$")
_KV = re.compile(r"^([^:\n]+):(?:[ \t]+(.*))?$", re.S)


@dataclass
class _Node:
    """One indented line of CLI output and the more-indented lines below it."""

    depth: int
    text: str
    children: list[_Node] = field(default_factory=list)

    @property
    def kv(self) -> tuple[str, str] | None:
        """(label, value) for a `Label: value` line, None for a bare item like `seccomp` or `::1/128`."""
        m = _KV.match(self.text)
        return (m[1].strip(), (m[2] or "").strip()) if m else None

    def walk(self) -> list[str]:
        """Texts of every line below this one."""
        return [t for c in self.children for t in (c.text, *c.walk())]


@dataclass
class _Section:
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class _Layout:
    sections: dict[str, _Section]
    warnings: list[str]
    stray: list[str]


def _layout(text: str) -> _Layout:
    """Split output into its Client:/Server: sections, WARNING: lines and anything else."""
    out = _Layout({}, [], [])
    current: _Section | None = None
    for line in text.splitlines():
        line = line.rstrip()
        header = _SECTION.match(line)
        if header:
            current = out.sections.setdefault(header[1], _Section((header[2] or "").strip()))
        elif line.startswith("WARNING:"):
            out.warnings.append(line)
        elif not line:
            current = None
        elif current is not None:
            current.lines.append(line)
        else:
            out.stray.append(line)
    return out


def _tree(lines: list[str], joiner: str) -> _Node:
    """Nest lines by indentation; an unindented line continues the previous one (console wrap, multi-line value)."""
    root = _Node(-1, "")
    stack = [root]
    for line in lines:
        depth = len(line) - len(line.lstrip(" "))
        if depth == 0 and len(stack) > 1:
            stack[-1].text += joiner + line
            continue
        while stack[-1].depth >= depth:
            stack.pop()
        node = _Node(depth, line.strip())
        stack[-1].children.append(node)
        stack.append(node)
    return root


def _section_tree(text: str, name: str, joiner: str) -> tuple[_Section | None, _Node]:
    section = _layout(text).sections.get(name)
    return section, _tree(section.lines if section else [], joiner)


# --------------------------------------------------------------------------- docker info

_INFO_TEXT = {
    "Server Version": "ServerVersion",
    "Logging Driver": "LoggingDriver",
    "Cgroup Driver": "CgroupDriver",
    "Cgroup Version": "CgroupVersion",
    "Default Runtime": "DefaultRuntime",
    "Init Binary": "InitBinary",
    "Kernel Version": "KernelVersion",
    "Operating System": "OperatingSystem",
    "OS Version": "OSVersion",
    "OSType": "OSType",
    "Architecture": "Architecture",
    "Name": "Name",
    "ID": "ID",
    "Docker Root Dir": "DockerRootDir",
    "HTTP Proxy": "HttpProxy",
    "HTTPS Proxy": "HttpsProxy",
    "No Proxy": "NoProxy",
    "Registry": "IndexServerAddress",
    "Product License": "ProductLicense",
    "System Time": "SystemTime",
    "Isolation": "Isolation",
}
_INFO_INT = {
    "Images": "Images",
    "CPUs": "NCPU",
    "File Descriptors": "NFd",
    "Goroutines": "NGoroutines",
    "EventsListeners": "NEventsListener",
}
_INFO_BOOL = {"Debug Mode": "Debug", "Experimental": "ExperimentalBuild", "Live Restore Enabled": "LiveRestoreEnabled"}
_CLIENT_SIDE = {"Username"}  # printed under Server: but read from the client's config, never part of GET /info
_UNITS = {"": 0, "Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}

_Handler = Callable[[dict[str, Any], str, list[_Node]], list[str]]


def _containers(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["Containers"] = int(value)
    names = {"Running": "ContainersRunning", "Paused": "ContainersPaused", "Stopped": "ContainersStopped"}
    for child in children:
        label, count = child.kv or ("", "")
        if label not in names:
            return [c.text for c in children]
        info[names[label]] = int(count)
    return []


def _storage(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["Driver"] = value
    info["DriverStatus"] = [list(c.kv or (c.text, "")) for c in children]
    return []


def _plugins(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["Plugins"] = {label: names.split() for label, names in (c.kv or (c.text, "") for c in children)}
    return []


def _text_list(key: str) -> _Handler:
    def handle(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
        info[key] = [c.text for c in children]
        return []

    return handle


def _devices(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["DiscoveredDevices"] = [{"Source": s, "ID": i} for s, i in (c.kv or ("", c.text) for c in children)]
    return []


def _swarm(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["Swarm"] = {"LocalNodeState": value}
    return [t for c in children for t in (c.text, *c.walk())]  # an active swarm's details are not mapped


def _runtimes(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["Runtimes"] = {name: {} for name in value.split()}  # the text names runtimes, never their paths
    return []


def _commit(key: str) -> _Handler:
    def handle(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
        m = re.fullmatch(r"(\S*)(?: \(expected: (\S*)\))?", value)
        info[key] = {"ID": m[1]} if m else {"ID": value}
        if m and m[2] is not None:
            info[key]["Expected"] = m[2]
        return []

    return handle


def _security(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    # The CLI prints "name=seccomp,profile=builtin" as "seccomp" + "Profile: builtin"; this re-joins it.
    options = []
    for child in children:
        pairs = [f"{k.lower()}={v}" for k, v in (g.kv or (g.text, "") for g in child.children)]
        options.append(",".join([f"name={child.text}", *pairs]))
    info["SecurityOptions"] = options
    return []


def _memory(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    m = re.fullmatch(r"([\d.]+)\s*(Ki|Mi|Gi|Ti|Pi|Ei)?B", value)
    if not m:
        return [f"Total Memory: {value}"]
    info["MemTotal"] = round(float(m[1]) * 1024 ** _UNITS[m[2] or ""])  # the CLI rounds to 4 digits: approximate
    return []


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _insecure(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    registry = info.setdefault("RegistryConfig", {})
    registry["InsecureRegistryCIDRs"] = [c.text for c in children if _is_cidr(c.text)]
    names = [c.text for c in children if not _is_cidr(c.text)]
    if names:  # only the insecure indexes are printed; docker.io's secure entry is never shown, so not invented
        registry["IndexConfigs"] = {n: {"Name": n, "Secure": False, "Mirrors": [], "Official": False} for n in names}
    return []


def _mirrors(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info.setdefault("RegistryConfig", {})["Mirrors"] = [c.text for c in children]
    return []


def _pools(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    pools, bad = [], []
    for child in children:
        m = re.fullmatch(r"Base: (\S+), Size: (\d+)", child.text)
        if m:
            pools.append({"Base": m[1], "Size": int(m[2])})
        else:
            bad.append(child.text)
    info["DefaultAddressPools"] = pools
    return bad


def _firewall(info: dict[str, Any], value: str, children: list[_Node]) -> list[str]:
    info["FirewallBackend"] = {"Driver": value}
    if children:
        info["FirewallBackend"]["Info"] = [list(c.kv or (c.text, "")) for c in children]
    return []


_INFO_HANDLERS: dict[str, _Handler] = {
    "Containers": _containers,
    "Storage Driver": _storage,
    "Plugins": _plugins,
    "CDI spec directories": _text_list("CDISpecDirs"),
    "Discovered Devices": _devices,
    "Swarm": _swarm,
    "Runtimes": _runtimes,
    "containerd version": _commit("ContainerdCommit"),
    "runc version": _commit("RuncCommit"),
    "init version": _commit("InitCommit"),
    "Security Options": _security,
    "Total Memory": _memory,
    "Labels": _text_list("Labels"),
    "Insecure Registries": _insecure,
    "Registry Mirrors": _mirrors,
    "Default Address Pools": _pools,
    "Firewall Backend": _firewall,
}


def _info_node(info: dict[str, Any], node: _Node) -> list[str]:
    """Map one top-level Server: line (and its children) into `info`; return the texts it could not map."""
    if node.kv is None:
        return [node.text, *node.walk()]
    label, value = node.kv
    if label in _CLIENT_SIDE:
        return []
    for table, convert in ((_INFO_TEXT, str), (_INFO_INT, int), (_INFO_BOOL, lambda v: v == "true")):
        if label in table:
            info[table[label]] = convert(value)
            return node.walk()
    handler = _INFO_HANDLERS.get(label)
    return handler(info, value, node.children) if handler else [node.text, *node.walk()]


def _parse_info(text: str) -> tuple[dict[str, Any], list[str]]:
    layout = _layout(text)
    info: dict[str, Any] = {}
    unparsed = list(layout.stray)
    server = layout.sections.get("Server")
    for node in _tree(server.lines if server else [], joiner="").children:
        unparsed += _info_node(info, node)
    if layout.warnings:
        info["Warnings"] = layout.warnings
    return info, unparsed


def info_from_text(text: str) -> dict[str, Any]:
    """`docker info` text (its Server: section and WARNING: lines) as a GET /info (SystemInfo) answer."""
    return _parse_info(text)[0]


def info_unparsed(text: str) -> list[str]:
    """Lines of `docker info` output outside the Client: section that info_from_text could not map."""
    return _parse_info(text)[1]


def _plugin(node: _Node) -> dict[str, str]:
    """A client plugin line: `name: Description (Vendor)` + Version/Path lines, or old `(Vendor, version)`."""
    name, described = node.kv or (node.text, "")
    plugin = {"Name": name}
    cut = described.rfind(" (")
    if described.endswith(")") and cut >= 0:
        plugin["ShortDescription"] = described[:cut]
        vendor, _, version = described[cut + 2 : -1].partition(", ")
        plugin["Vendor"] = vendor
        if version:
            plugin["Version"] = version
    else:
        plugin["ShortDescription"] = described
    plugin.update(c.kv or (c.text, "") for c in node.children)
    return plugin


def client_from_info_text(text: str) -> dict[str, Any]:
    """`docker info`'s Client: section: Platform, Version, Context, Debug, Plugins (and the Server-side Username)."""
    section, root = _section_tree(text, "Client", joiner="")
    client: dict[str, Any] = {"Platform": {"Name": section.title}} if section and section.title else {}
    for node in root.children:
        label, value = node.kv or (node.text, "")
        if label == "Plugins":
            client["Plugins"] = [_plugin(c) for c in node.children]
        elif label in ("Version", "Context"):
            client[label] = value
        elif label == "Debug Mode":
            client["Debug"] = value == "true"
    _, server = _section_tree(text, "Server", joiner="")
    for node in server.children:
        if node.kv and node.kv[0] in _CLIENT_SIDE:
            client[node.kv[0]] = node.kv[1]
    return client


# --------------------------------------------------------------------------- docker version

_API = re.compile(r"(\S*)(?: \((minimum version|downgraded from) (\S+)\))?")
_ENGINE_LABELS = {
    "Version": "Version",
    "Go version": "GoVersion",
    "Git commit": "GitCommit",
    "Built": "BuildTime",
    "Context": "Context",
    "Cloud integration": "CloudIntegration",
    "Kernel version": "KernelVersion",
}


def _engine_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The CLI's Engine/Client labels (`API version`, `OS/Arch`, ...) as SystemVersion field names."""
    out: dict[str, Any] = {}
    for label, value in pairs:
        if label == "API version":
            m = _API.fullmatch(value)
            out["ApiVersion"] = m[1] if m else value
            if m and m[2]:
                out["MinAPIVersion" if m[2] == "minimum version" else "DefaultAPIVersion"] = m[3]
        elif label == "OS/Arch":
            out["Os"], _, out["Arch"] = value.partition("/")
        elif label == "Experimental":
            out["Experimental"] = value == "true"
        elif label in _ENGINE_LABELS:
            out[_ENGINE_LABELS[label]] = value
    return out


def _pairs(node: _Node) -> list[tuple[str, str]]:
    return [c.kv or (c.text, "") for c in node.children]


def _component(node: _Node) -> dict[str, Any]:
    name = node.kv[0] if node.kv else node.text
    pairs = _pairs(node)
    if name == "Engine":
        fields = _engine_fields(pairs)
        details = {k: str(v).lower() if isinstance(v, bool) else v for k, v in fields.items() if k != "Version"}
        return {"Name": name, "Version": fields.get("Version", ""), "Details": details}
    details = {label: value for label, value in pairs if label != "Version"}
    return {"Name": name, "Version": dict(pairs).get("Version", ""), "Details": details}


def version_from_text(text: str) -> dict[str, Any]:
    """`docker version`'s Server: section as a GET /version (SystemVersion) answer."""
    section, root = _section_tree(text, "Server", joiner="\n")
    if section is None:
        return {}
    answer: dict[str, Any] = {"Platform": {"Name": section.title}}
    blocks = [n for n in root.children if n.children]
    if not blocks:  # pre-17.06 layout: engine fields directly under Server:
        return {**answer, **_engine_fields(_pairs(root))}
    components = [_component(n) for n in blocks]
    names = [c["Name"] for c in components]
    if "Engine" in names:
        answer.update(_engine_fields(_pairs(blocks[names.index("Engine")])))
        if names.index("Engine") > 0:
            # dockerd lists Engine first; a trailing Engine was added by the CLI because the server (podman) sent none.
            components.pop(names.index("Engine"))
    return {"Platform": answer.pop("Platform"), "Components": components, **answer}


def client_from_version_text(text: str) -> dict[str, Any]:
    """`docker version`'s Client: section: Version, ApiVersion (+DefaultAPIVersion), Os, Arch, Context, ..."""
    section, root = _section_tree(text, "Client", joiner="\n")
    if section is None:
        return {}
    client = _engine_fields(_pairs(root))
    return {"Platform": {"Name": section.title}, **client} if section.title else client


# --------------------------------------------------------------------------- the server


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A threaded unix-socket server that can cut its keep-alive connections and join their threads on close."""

    daemon_threads = True
    request_queue_size = 128  # unix connect() fails with EAGAIN, not a wait, once the listen backlog is full

    def __init__(self, path: str, engine: RecordedEngine) -> None:
        self.engine = engine
        self._conns: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        super().__init__(path, _EngineHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn does not keep daemon threads for server_close() to join, so keep them here.
        worker = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="recorded-engine-conn", daemon=True
        )
        with self._lock:
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()

    def join_workers(self, timeout: float = 5.0) -> None:
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up (or close() cutting it) is expected
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self._lock:
            self._conns.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_ROUTE = re.compile(r"(?:/v\d+(?:\.\d+)*)?/(_ping|version|info)")


class _EngineHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet, and unix sockets have no client address to print

    def version_string(self) -> str:
        return self.server.engine.server_header()

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_POST(self) -> None:
        self._drain()
        self._answer(with_body=True, allowed=False)

    do_PUT = do_DELETE = do_POST

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _answer(self, with_body: bool, allowed: bool = True) -> None:
        engine = self.server.engine
        path = urlsplit(self.path).path
        engine.requests.append(path)
        route = _ROUTE.fullmatch(path)
        endpoint = route[1] if route and allowed else None
        if endpoint == "_ping":
            body = b"" if not with_body else b"OK"
            self._send(200, body, "text/plain; charset=utf-8", engine.ping_headers())
            return
        recorded = {"version": engine.version, "info": engine.info}.get(endpoint or "")
        if endpoint is None:
            status, payload = 404, {"message": "page not found"}
        elif recorded is None:
            status, payload = 500, {"message": "not recorded"}
        else:
            status, payload = 200, recorded
        body = json.dumps(payload).encode() + b"\n"
        self._send(status, body if with_body else b"", "application/json", {}, length=len(body))

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str], length: int | None = None) -> None:
        self.send_response(status)
        for name, value in {**self.server.engine.common_headers(), **extra}.items():
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body:
            self.wfile.write(body)


class RecordedEngine:
    """A fake Docker Engine answering /_ping, /version and /info from recorded answers on a temp unix socket."""

    def __init__(self, info: dict[str, Any] | None = None, version: dict[str, Any] | None = None) -> None:
        self.info = info
        self.version = version
        self.requests: list[str] = []
        self.base_url = ""
        self.socket_path = ""
        self._tmpdir: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RecordedEngine:
        self._tmpdir = tempfile.mkdtemp(prefix="ddeng-")
        self.socket_path = os.path.join(self._tmpdir, "docker.sock")
        self._server = _Server(self.socket_path, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="recorded-engine", daemon=True
        )
        self._thread.start()
        self.base_url = f"unix://{self.socket_path}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, cut open keep-alive connections, join every thread and remove the socket."""
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._thread.join()
        self._server.cut_connections()
        self._server.join_workers()
        self._server.server_close()
        shutil.rmtree(self._tmpdir or "", ignore_errors=True)
        self._server = self._thread = None

    def _podman_api(self) -> str | None:
        for component in (self.version or {}).get("Components") or []:
            if component.get("Name") == "Podman Engine":
                return component.get("Details", {}).get("APIVersion") or component.get("Version")
        return None

    def _os(self) -> str | None:
        return (self.info or {}).get("OSType") or (self.version or {}).get("Os")

    def server_header(self) -> str:
        """`Docker/<version> (<os>)` like dockerd, or `Libpod/<api> (<os>)` when the recording is podman's."""
        podman = self._podman_api()
        release = podman or (self.version or {}).get("Version") or (self.info or {}).get("ServerVersion")
        product = "Libpod" if podman else "Docker"
        name = f"{product}/{release}" if release else product
        return f"{name} ({self._os()})" if self._os() else name

    def common_headers(self) -> dict[str, str]:
        """Headers the engine puts on every answer, derived from the recordings only."""
        headers = {"Api-Version": (self.version or {}).get("ApiVersion") or "1.41"}
        if self._os():
            headers["Ostype"] = self._os() or ""
        experimental = (self.version or {}).get("Experimental", (self.info or {}).get("ExperimentalBuild"))
        if experimental is not None:
            headers["Docker-Experimental"] = str(bool(experimental)).lower()
        if self._podman_api():
            headers["Libpod-Api-Version"] = self._podman_api() or ""
        return headers

    def ping_headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}


def _load(path: Path, parse: Callable[[str], dict[str, Any]]) -> dict[str, Any] | None:
    return parse(read_recording(path)[1]) if path.exists() else None


def engine_for(flavour_key: str, fixtures: Path = FIXTURES) -> RecordedEngine:
    """A RecordedEngine for docker-info.<key>.1.txt and docker-version.<key>.1.txt (either may be missing)."""
    info = _load(fixtures / f"docker-info.{flavour_key}.1.txt", info_from_text)
    version = _load(fixtures / f"docker-version.{flavour_key}.1.txt", version_from_text)
    if info is None and version is None:
        raise FileNotFoundError(f"no docker-info/docker-version recording for {flavour_key!r} in {fixtures}")
    return RecordedEngine(info=info, version=version)
