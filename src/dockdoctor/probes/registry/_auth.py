"""Registry authentication: WWW-Authenticate parsing, docker credentials (config.json, helpers), tokens."""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from dockdoctor.probes._run import Completed, read_text, run
from dockdoctor.probes.registry._failure import Kind, RegistryFailure
from dockdoctor.probes.registry._http import Transport, private_host

HUB_KEY = "https://index.docker.io/v1/"
HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
TOKEN_USERNAME = "<token>"
HELPER_TIMEOUT = 15.0
DEFAULT_TOKEN_TTL = 60.0
TOKEN_SLACK = 10.0
NOT_FOUND_TEXT = "credentials not found"

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = _TCHAR | frozenset("/=")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: scheme (lower case) and its auth-params (names lower case)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)
    token68: str = ""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username/secret pair (or an identity token) and where it came from, for messages."""

    username: str
    secret: str
    source: str
    identity_token: str = ""

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.secret}".encode()).decode()


# --- RFC 7235 WWW-Authenticate -----------------------------------------------------------------


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _token(text: str, i: int, chars: frozenset[str] = _TCHAR) -> tuple[str, int]:
    start = i
    while i < len(text) and text[i] in chars:
        i += 1
    return text[start:i], i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """A quoted-string starting at text[i] == '"' (backslash escapes), returning the unescaped value."""
    out: list[str] = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), i  # unterminated: take what is there


def _param(text: str, i: int) -> tuple[str, str, int] | None:
    """name = value at i, or None when i does not start an auth-param (then it starts a new challenge)."""
    name, j = _token(text, i)
    if not name:
        return None
    j = _skip_ws(text, j)
    if j >= len(text) or text[j] != "=":
        return None
    j = _skip_ws(text, j + 1)
    if j < len(text) and text[j] == '"':
        value, j = _quoted(text, j)
    else:
        value, j = _token(text, j)
        if not value:
            return None  # `abc==` is a token68, not a parameter
    return name.lower(), value, j


def _next_item(text: str, i: int) -> int:
    """Skip whitespace and commas between list items."""
    while i < len(text) and text[i] in " \t,":
        i += 1
    return i


def parse_www_authenticate(value: str) -> tuple[Challenge, ...]:
    """All challenges in a (possibly comma-joined, multi-header) WWW-Authenticate value (RFC 7235 §4.1)."""
    challenges: list[Challenge] = []
    i = _next_item(value, 0)
    while i < len(value):
        scheme, i = _token(value, i)
        if not scheme:
            i = _next_item(value, i + 1)  # garbage: skip a character and go on
            continue
        i = _skip_ws(value, i)
        params: dict[str, str] = {}
        token68 = ""
        if _param(value, i) is None:
            t68, j = _token(value, i, _TOKEN68)
            end = _skip_ws(value, j)
            if t68 and (end >= len(value) or value[end] == ","):
                token68, i = t68, end
        else:
            while (parsed := _param(value, i)) is not None:
                name, val, i = parsed
                params.setdefault(name, val)
                i = _next_item(value, i)
        challenges.append(Challenge(scheme=scheme.lower(), params=params, token68=token68))
        i = _next_item(value, i)
    return tuple(challenges)


def pick_challenge(challenges: tuple[Challenge, ...]) -> Challenge | None:
    """ggcr pickFromMultipleChallenges: bearer, then basic, else the first."""
    for scheme in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == scheme:
                return c
    return challenges[0] if challenges else None


# --- credentials ---------------------------------------------------------------------------------


def config_key(domain: str) -> str:
    """The config.json key of a registry: Docker Hub's legacy URL, else host[:port]."""
    return HUB_KEY if domain.lower() in HUB_NAMES else domain


def _hostname(key: str) -> str:
    """credentials/file_store.go ConvertToHostname: strip a scheme and a path."""
    rest = key.split("://", 1)[1] if "://" in key else key
    return rest.split("/", 1)[0]


def decode_auth(value: str) -> tuple[str, str] | None:
    try:
        text = base64.b64decode(value, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = text.partition(":")
    return (user, secret) if sep else None


def _from_entry(entry: Mapping[str, object], source: str) -> Credentials | None:
    identity = entry.get("identitytoken")
    user, secret = entry.get("username"), entry.get("password")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        pair = decode_auth(auth)
        if pair is not None:
            user, secret = pair
    if isinstance(identity, str) and identity:
        return Credentials(username=str(user or ""), secret="", source=source, identity_token=identity)
    if isinstance(user, str) and isinstance(secret, str) and (user or secret):
        return Credentials(username=user, secret=secret, source=source)
    return None


def _entry_for(auths: Mapping[str, object], domain: str, path: str) -> tuple[str, Mapping[str, object]] | None:
    key = config_key(domain)
    for wanted in (f"{domain}/{path}", key):
        if isinstance(auths.get(wanted), dict):
            return wanted, auths[wanted]  # type: ignore[return-value]
    host = _hostname(key).lower()
    for k, v in auths.items():
        if isinstance(v, dict) and (_hostname(k).lower() == host or config_key(_hostname(k)) == key):
            return k, v
    return None


def _helper(name: str, server: str, timeout: float = HELPER_TIMEOUT) -> tuple[Credentials | None, str]:
    """`docker-credential-NAME get` with the server URL on stdin; its answer is never recorded."""
    program = f"docker-credential-{name}"
    out = run("registry", (program, "get"), timeout=timeout, input=server, secret=True)
    if not isinstance(out, Completed):  # a ProbeError
        if out.kind == "not-found":
            return None, f"{program} is not installed (not on PATH)"
        return None, f"{program} failed: {out.detail}"
    return _helper_result(out, program)


def _helper_result(out: Completed, program: str) -> tuple[Credentials | None, str]:
    if out.code != 0:
        text = (out.stdout + out.stderr).strip()
        if NOT_FOUND_TEXT in text.lower():
            return None, ""
        return None, f"{program} exited with {out.code}: {text[:200]}"
    try:
        data = json.loads(out.stdout)
    except (ValueError, RecursionError):
        return None, f"{program} printed something that is not JSON"
    if not isinstance(data, dict):
        return None, f"{program} printed JSON that is not an object"
    user, secret = data.get("Username", ""), data.get("Secret", "")
    if not isinstance(user, str) or not isinstance(secret, str) or not (user or secret):
        return None, ""
    if user == TOKEN_USERNAME:
        return Credentials(username="", secret="", source=program, identity_token=secret), ""
    return Credentials(username=user, secret=secret, source=program), ""


@dataclass(slots=True)
class CredentialStore:
    """Docker CLI credentials for registries, looked up lazily and once per registry per run."""

    config_dir: str
    auth_config: str = field(default="", repr=False)  # DOCKER_AUTH_CONFIG: {"auths": {...}}, read before the file
    deadline: float | None = None  # time.monotonic() after which no helper may still run (the run's --timeout)
    _config: Mapping[str, object] | None = None
    _found: dict[tuple[str, str], tuple[Credentials | None, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _load(self) -> Mapping[str, object]:
        if self._config is None:
            text = read_text("registry", os.path.join(self.config_dir, "config.json"))
            try:
                data = json.loads(text) if isinstance(text, str) and text.strip() else {}
            except (ValueError, RecursionError):
                data = {}
            self._config = data if isinstance(data, dict) else {}
            self._config = _overlay(self._config, self.auth_config)
        return self._config

    def lookup(self, domain: str, path: str) -> tuple[Credentials | None, str]:
        """(credentials or None, a note for messages when a helper failed)."""
        with self._lock:
            key = (domain, path)
            if key not in self._found:
                self._found[key] = self._resolve(domain, path)
            return self._found[key]

    def _resolve(self, domain: str, path: str) -> tuple[Credentials | None, str]:
        config = self._load()
        key = config_key(domain)
        helpers = config.get("credHelpers")
        helper = helpers.get(key) if isinstance(helpers, dict) else None
        store = config.get("credsStore")
        note = ""
        name = helper if isinstance(helper, str) and helper else store if isinstance(store, str) and store else ""
        if name:
            left = HELPER_TIMEOUT if self.deadline is None else self.deadline - time.monotonic()
            creds, note = _helper(name, key, round(max(0.1, min(HELPER_TIMEOUT, left)), 1))
            if creds is not None:
                return creds, ""
        auths = config.get("auths")
        found = _entry_for(auths, domain, path) if isinstance(auths, dict) else None
        if found is not None:
            creds = _from_entry(found[1], f"{os.path.join(self.config_dir, 'config.json')} auths[{found[0]!r}]")
            if creds is not None:
                return creds, ""
        return None, note


def _overlay(config: Mapping[str, object], auth_config: str) -> Mapping[str, object]:
    """DOCKER_AUTH_CONFIG's `auths` win over the file's (docker/cli configfile GetCredentialsStore)."""
    try:
        extra = json.loads(auth_config) if auth_config.strip() else {}
    except (ValueError, RecursionError):
        return config
    auths = extra.get("auths") if isinstance(extra, dict) else None
    if not isinstance(auths, dict) or not auths:
        return config
    base = config.get("auths")
    merged = {**(base if isinstance(base, dict) else {}), **auths}
    return {**config, "auths": merged}


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires: float


@dataclass(slots=True)
class Authenticator:
    """Answers challenges: Basic from credentials, Bearer through the token endpoint; tokens kept in memory."""

    transport: Transport
    credentials: CredentialStore
    _tokens: dict[tuple[str, str, str, str], _Token] = field(default_factory=dict)
    _challenges: dict[str, Challenge] = field(default_factory=dict)  # registry host -> last challenge
    _locks: dict[tuple[str, str, str, str], threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def challenge(self, host: str) -> Challenge | None:
        """The challenge a 401 of this run named for host."""
        return self._challenges.get(host)

    def answer(
        self,
        host: str,
        domain: str,
        path: str,
        challenge: Challenge,
        *,
        subject: str,
        fresh: bool = False,
        met: bool = True,
    ) -> tuple[str, Credentials | None] | None:
        """The Authorization header for challenge (None when Basic is asked and there are no credentials).

        met: the challenge came from a 401 of this run (not from the cache), so later requests answer it too.
        """
        if met:
            with self._lock:
                self._challenges[host] = challenge
        creds, _note = self.credentials.lookup(domain, path)
        if challenge.scheme == "basic":
            if creds is None or creds.identity_token:
                return None
            return creds.basic(), creds
        if challenge.scheme == "bearer":
            return "Bearer " + self._token(host, path, challenge, creds, subject, fresh), creds
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: unsupported authentication scheme {challenge.scheme!r}")

    def note(self, domain: str, path: str) -> str:
        return self.credentials.lookup(domain, path)[1]

    def _token(
        self, host: str, path: str, challenge: Challenge, creds: Credentials | None, subject: str, fresh: bool
    ) -> str:
        realm = challenge.params.get("realm", "")
        service = challenge.params.get("service", "")
        scope = f"repository:{path}:pull"
        who = creds.source + creds.username if creds else ""
        key = (realm, service, scope, who)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = None if fresh else self._tokens.get(key)
            if cached is not None and cached.expires > time.monotonic():
                return cached.value
            token = self._fetch_token(host, realm, service, scope, creds, subject)
            self._tokens[key] = token
            return token.value

    def _fetch_token(
        self, host: str, realm: str, service: str, scope: str, creds: Credentials | None, subject: str
    ) -> _Token:
        _check_realm(realm, host, subject)
        if creds is not None and creds.identity_token:
            resp = self.transport.request(
                "POST",
                realm,
                subject=subject,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "service": service,
                    "scope": scope,
                    "client_id": "dockdoctor",
                },
                max_bytes=1 << 20,
            )
            if resp.status == 200:
                return _parse_token(resp.body, subject)
            if resp.status not in (400, 401, 404, 405):
                raise _token_failure(resp.status, realm, creds, subject)
        query = urlencode([(k, v) for k, v in (("service", service), ("scope", scope)) if v])
        headers = {"Authorization": creds.basic()} if creds is not None and not creds.identity_token else {}
        resp = self.transport.request(
            "GET", realm + ("&" if "?" in realm else "?") + query, subject=subject, headers=headers, max_bytes=1 << 20
        )
        if resp.status != 200:
            raise _token_failure(resp.status, realm, creds, subject)
        return _parse_token(resp.body, subject)


def _check_realm(realm: str, host: str, subject: str) -> None:
    """An http(s) URL, and not a private address unless the registry itself is private (ggcr validateRealmURL)."""
    parts = urlsplit(realm)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: the registry's token realm {realm!r} is not an http(s) URL")
    if private_host(parts.netloc) and not private_host(host):
        raise RegistryFailure(
            Kind.PROTOCOL,
            f"{subject}: refusing the token realm {realm!r}: a public registry "
            "may not send credentials requests to a private address",
        )


def _token_failure(status: int, realm: str, creds: Credentials | None, subject: str) -> RegistryFailure:
    if status in (401, 403) and creds is not None:
        return RegistryFailure(
            Kind.AUTH_FAILED,
            f"{subject}: the token server {realm} rejected the credentials "
            f"from {creds.source} (HTTP {status}); run `docker login` again",
        )
    if status in (401, 403):
        return RegistryFailure(
            Kind.AUTH_REQUIRED,
            f"{subject}: the token server {realm} refused an anonymous token (HTTP {status}); run `docker login`",
        )
    return RegistryFailure(Kind.PROTOCOL, f"{subject}: the token server {realm} answered HTTP {status}")


def _parse_token(body: bytes, subject: str) -> _Token:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: the token server's answer is not a JSON object")
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value:
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: the token server's answer has no token")
    ttl = data.get("expires_in")
    ttl = float(ttl) if isinstance(ttl, (int, float)) and ttl > 0 else DEFAULT_TOKEN_TTL
    return _Token(value=value, expires=time.monotonic() + max(ttl - TOKEN_SLACK, 1.0))
