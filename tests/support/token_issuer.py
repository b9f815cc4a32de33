"""A private docker-registry in `auth: token` mode plus the small token issuer it trusts (stdlib + openssl CLI).

``token_registry()`` makes a throwaway RSA key and self-signed certificate, serves GET /token on a loopback
port (the distribution token spec: docs/spec/auth/token.md and jwt.md), starts ``docker-registry serve`` with
``auth.token`` pointing at that issuer and that certificate as ``rootcertbundle``, copies the wanted images into
it with skopeo, and on exit stops both and removes every file it made.

The JWT is what distribution 2.8 (registry/auth/token/token.go) verifies: a JWS compact serialization signed
RS256 whose header carries ``x5c`` (the signing certificate, standard base64 of its DER), so that the registry
checks the chain against ``rootcertbundle``; claims iss (== the configured issuer), sub, aud (== the configured
service, a plain string), exp, nbf, iat, jti and access [{type, name, actions}].

Policy: an anonymous client gets ``pull`` on the repositories in ``anonymous_repos`` and nothing else (a 200
with an empty access list, as the spec says; the registry then answers 401 insufficient_scope). Basic credentials
equal to (user, password) get every action asked for (pull and push, so skopeo can fill the registry); any other
credentials get a 401.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

REGISTRY_BIN = "/usr/bin/docker-registry"
SERVICE = "dockdoctor-test"
ISSUER = "dockdoctor-test-issuer"
TOKEN_TTL = 300


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server saw."""

    method: str
    path: str
    query: dict[str, list[str]]
    had_authorization: bool
    user: str  # the authenticated user, "" when anonymous or rejected
    status: int
    granted: tuple[dict, ...] = ()

    @property
    def scopes(self) -> list[str]:
        return self.query.get("scope", [])


@dataclass
class TokenRegistry:
    """What the running pair offers to tests."""

    host: str  # 127.0.0.1:PORT of the registry
    realm: str
    user: str
    password: str
    anonymous_repos: frozenset[str]
    workdir: Path
    log_path: Path
    requests: list[TokenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, entry: TokenRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def token_requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def log(self) -> str:
        """The registry's own (debug level) log, for assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


# --- keys and JWTs ---------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_key_and_cert(directory: Path) -> tuple[Path, Path, str]:
    """(key.pem, cert.pem, the certificate's DER in standard base64 for the x5c header)."""
    key, cert = directory / "issuer-key.pem", directory / "issuer-cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={ISSUER}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pem = cert.read_text()
    body = pem.split("-----BEGIN CERTIFICATE-----", 1)[1].split("-----END CERTIFICATE-----", 1)[0]
    der_b64 = base64.b64encode(base64.b64decode("".join(body.split()))).decode("ascii")
    return key, cert, der_b64


def sign_jwt(key: Path, x5c: str, claims: dict) -> str:
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key)],
        input=signing_input.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return signing_input + "." + _b64url(signature)


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """`repository:NAME:pull,push` -> (type, name, actions); the name may itself hold a colon (host:port/x)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and kind and name):
        return None
    return kind, name, [a for a in actions.split(",") if a]


# --- the token server ------------------------------------------------------------------------


def _handler(reg: TokenRegistry, key: Path, x5c: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def _send(self, status: int, body: dict, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - the OAuth2 form is not offered: docker falls back to GET
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            parts = urlsplit(self.path)
            reg.record(
                TokenRequest("POST", parts.path, parse_qs(parts.query), "Authorization" in self.headers, "", 404)
            )
            self._send(404, {"errors": [{"code": "UNSUPPORTED", "message": "no OAuth2 POST here"}]})

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            auth = self.headers.get("Authorization", "")
            if parts.path != "/token":
                reg.record(TokenRequest("GET", parts.path, query, bool(auth), "", 404))
                self._send(404, {"errors": [{"code": "NOT_FOUND"}]})
                return
            user = ""
            if auth:
                scheme, _, value = auth.partition(" ")
                try:
                    name, _, password = base64.b64decode(value).decode().partition(":")
                except ValueError:
                    name, password = "", None
                if scheme.lower() != "basic" or (name, password) != (reg.user, reg.password):
                    reg.record(TokenRequest("GET", parts.path, query, True, "", 401))
                    self._send(
                        401,
                        {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                        {"WWW-Authenticate": 'Basic realm="dockdoctor-test-issuer"'},
                    )
                    return
                user = name
            access = []
            for scope in query.get("scope", []):
                for one in scope.split(" "):  # several scopes may also come space-separated
                    parsed = parse_scope(one)
                    if parsed is None:
                        continue
                    kind, name, actions = parsed
                    if user:
                        granted = actions
                    elif kind == "repository" and name in reg.anonymous_repos:
                        granted = [a for a in actions if a == "pull"]
                    else:
                        granted = []
                    if granted:
                        access.append({"type": kind, "name": name, "actions": granted})
            now = int(time.time())
            claims = {
                "iss": ISSUER,
                "sub": user,
                "aud": query.get("service", [SERVICE])[0],
                "exp": now + TOKEN_TTL,
                "nbf": now - 10,
                "iat": now,
                "jti": secrets.token_hex(16),
                "access": access,
            }
            token = sign_jwt(key, x5c, claims)
            reg.record(TokenRequest("GET", parts.path, query, bool(auth), user, 200, tuple(access)))
            self._send(
                200,
                {
                    "token": token,
                    "access_token": token,
                    "expires_in": TOKEN_TTL,
                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                },
            )

    return Handler


# --- the registry ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(port: int, realm: str, cert: Path, storage: Path) -> str:
    # JSON is YAML: no PyYAML needed
    return json.dumps(
        {
            "version": 0.1,
            "log": {"level": "debug", "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(storage)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
            "auth": {"token": {"realm": realm, "service": SERVICE, "issuer": ISSUER, "rootcertbundle": str(cert)}},
        },
        indent=2,
    )


def _wait_ready(host: str, proc: subprocess.Popen, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urlopen(Request(f"http://{host}/v2/"), timeout=1):
                pass
            raise RuntimeError("the token registry answered /v2/ without asking for a token")
        except HTTPError as err:
            if err.code == 401:
                return
        except (URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not start on {host}:\n{log.read_text(errors='replace')}")


def skopeo_copy(src: str, dest: str, user: str, password: str) -> None:
    proc = subprocess.run(
        [
            "skopeo",
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-no-creds",
            "--dest-creds",
            f"{user}:{password}",
            "--retry-times",
            "0",
            f"docker://{src}",
            f"docker://{dest}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} {dest} failed ({proc.returncode}): {proc.stderr.strip()}")


@contextlib.contextmanager
def token_registry(
    copies: Iterable[tuple[str, str]] = (),
    *,
    anonymous_repos: Iterable[str] = (),
    user: str = "tester",
    password: str | None = None,
) -> Iterator[TokenRegistry]:
    """Run a token issuer and a docker-registry that trusts it; copies are (source ref, repo:tag in the new one).

    Everything (processes, threads, the temporary directory) is gone when the block ends.
    """
    password = password or secrets.token_hex(8)
    workdir = Path(tempfile.mkdtemp(prefix="dockdoctor-token-registry-"))
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    proc: subprocess.Popen | None = None
    log_fh = None
    try:
        key, cert, x5c = make_key_and_cert(workdir)
        reg = TokenRegistry(
            host="",
            realm="",
            user=user,
            password=password,
            anonymous_repos=frozenset(anonymous_repos),
            workdir=workdir,
            log_path=workdir / "registry.log",
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(reg, key, x5c))
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="token-issuer", daemon=True
        )
        thread.start()
        reg.realm = f"http://127.0.0.1:{server.server_address[1]}/token"
        port = _free_port()
        reg.host = f"127.0.0.1:{port}"
        storage = workdir / "storage"
        storage.mkdir()
        config = workdir / "config.yml"
        config.write_text(_config(port, reg.realm, cert, storage))
        log_fh = open(reg.log_path, "wb")  # noqa: SIM115 - closed in finally
        proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)],
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env={"PATH": os.environ.get("PATH", "")},
        )
        _wait_ready(reg.host, proc, reg.log_path, time.monotonic() + 15)
        for src, dest in copies:
            skopeo_copy(src, f"{reg.host}/{dest}", user, password)
        reg.clear()
        yield reg
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if log_fh is not None:
            log_fh.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
