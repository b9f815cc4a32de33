"""Redaction: a pure Facts -> Facts step that hides identities and secrets before anything leaves the machine.

Every string of the facts goes through the same rules (the generic walk), raw probe answers included; a few
fields that hold a name and its value apart also get rules by name. What is replaced, in this order:

Identities
  - the home directory of the user who ran dockdoctor becomes `~`, the host name `<host>`, the user name
    `<user>` (in paths and as a word of its own), the engine's host name `<engine-host>` unless it names a
    product (docker-desktop, orbstack, colima, lima-*, rancher-desktop);
  - any other user's home path, wherever it appears: `/Users/NAME`, `/home/NAME`, `/var/home/NAME`,
    `C:\\Users\\NAME`, `C:/Users/NAME` become `/Users/<user>` and so on (Docker Desktop's engine label
    `com.docker.desktop.address=unix:///Users/NAME/...`, a ticket replayed on another machine); `Shared`,
    `Public`, `Default`, `All Users` and `linuxbrew` are kept;
  - with `registries=True`, private registry host names become `<registry-1>`, `<registry-2>`...
    The same value always maps to the same placeholder.

Secrets by value (anywhere, whatever the name beside them), each becomes `<redacted>`
  - credentials in URLs (`scheme://user:password@`, and `scheme://user@`) and `Bearer`/`Basic` credentials;
  - GitHub tokens `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`github_pat_`, GitLab `glpat-`, Docker Hub `dckr_pat_`,
    npm `npm_`, Slack `xoxb-`/`xoxp-`/..., OpenAI/Stripe style `sk-`/`sk_live_`/`rk_live_` (with an upper-case
    letter and a digit, which image names never have), Google `AIza...`,
    AWS access key IDs `AKIA...`/`ASIA...`, JSON Web Tokens `eyJ...`, PEM `-----BEGIN ... PRIVATE KEY-----`
    blocks;
  - a long random-looking value after `=` (32 or more base64 or hex characters, with letters and digits,
    mixed case or all hex): `X=4f9c...`;
  - `curl -u USER:PASSWORD` keeps the user, hides the password; `docker login -p PASSWORD` and `sshpass -p
    PASSWORD` hide it.

Secrets by name: the value beside a name that looks secret becomes `<redacted>`
  - in `NAME=value` (Dockerfile `ARG`/`ENV`, `.env`, labels, `--build-arg`, URL query `?token=`, `--password=`),
    `NAME value` after `ENV`, `"NAME": "value"` (JSON), `NAME: value` (YAML), `--flag value` and `"--flag",
    "value"` (argv lists);
  - a name looks secret when one of its words (split at `_`, `-`, `.` and camelCase) is TOKEN, SECRET,
    PASSWORD, PASSWD, PASSPHRASE, PASS, PWD, PW, PAT, CREDENTIAL(S), CREDS, AUTH, AUTHORIZATION, COOKIE, DSN,
    SIG, SIGNATURE, APIKEY, ACCESSKEY, PRIVATEKEY, SECRETKEY, or its last word is KEY (API_KEY, ACCESS_KEY,
    PRIVATE_KEY, apiKey), or it contains TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIAL (identitytoken);
    names that end in FILE, PATH, SOCK, SOCKET, DIR, URL, URI, HOST, ID, NAME, TYPE, STORE or HELPER(S)
    (they point at a secret, they are not one) and PWD/OLDPWD (the working folder) are kept.

By field
  - `environment` and `.env` (`project.dotenv`, and `project.dotenv_end`, the file's last line): values of
    names outside a short allow-list of DOCKER_*/COMPOSE_* settings that diagnosis reads (ENV_ALLOWED); a
    last line that is no assignment (a comment) becomes `<redacted>` whole;
  - Dockerfile ARG defaults (`project.dockerfiles[].args[].default`) of secret-looking names;
  - the raw `docker compose config` answer: every `environment` value (which holds the `env_file` values too)
    outside the allow-list, secret-named build args and labels, the `content` of `configs` and `secrets`; in
    `command`, `entrypoint` and `healthcheck.test` the argument after `-p` (unless a port) or after a
    secret-named flag, and MySQL's glued `-pPASSWORD` when the list runs a mysql or mariadb tool.

Where: redact() on the facts of every report (text, JSON, Markdown), saved facts and the support bundle, unless
`--no-redact`; `fix` keeps identities (its edits need the real paths) and hides the secrets only (secrets(), in
its plan, outcomes and `--json`); one-line errors get the secret rules too (scrub()).

Kept on purpose, because diagnosis needs it: platform strings, image references and digests, service names,
ARG names and the values of non-secret ones (`TARGETARCH=amd64`), the allowed DOCKER_*/COMPOSE_* values.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

from dockdoctor.model import Facts, ProjectFacts, RawAnswer
from dockdoctor.platforms import KNOWN_ARCHITECTURES, KNOWN_OS
from dockdoctor.reference import PUBLIC_REGISTRIES


class _Lazy:
    """A regular expression compiled on its first use: most runs meet only a few of the rules below (scrub tests
    for a rule's literal text first), and compiling all of them cost every run that imports this module."""

    __slots__ = ("_compiled", "_flags", "_text")

    def __init__(self, text: str, flags: int = 0) -> None:
        self._text, self._flags = text, flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._text, self._flags)
        return self._compiled

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str) -> str:
        return self.pattern.sub(repl, string)

    def match(self, string: str) -> re.Match[str] | None:
        return self.pattern.match(string)

    def findall(self, string: str) -> list[Any]:
        return self.pattern.findall(string)


REDACTED = "<redacted>"
ENV_ALLOWED = frozenset(
    {
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_DEFAULT_PLATFORM",
        "DOCKER_BUILDKIT",
        "DOCKER_API_VERSION",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_CLI_HINTS",
        "COMPOSE_FILE",
        "COMPOSE_PROFILES",
        "COMPOSE_PROJECT_NAME",
        "COMPOSE_DOCKER_CLI_BUILD",
        "COMPOSE_BAKE",
        "COMPOSE_PARALLEL_LIMIT",
    }
)
# engine names that identify a product, not a person's machine
_PRODUCT_NAMES = _Lazy(r"^(docker-desktop|orbstack|colima(-[\w.-]+)?|lima-[\w.-]+|rancher-desktop)$")

# --------------------------------------------------------------------------- names that look secret

_SECRET_WORDS = frozenset(
    {
        "TOKEN",
        "TOKENS",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASSPHRASE",
        "PASS",
        "PWD",
        "PW",
        "PAT",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "AUTH",
        "AUTHORIZATION",
        "COOKIE",
        "DSN",
        "SIG",
        "SIGNATURE",
        "APIKEY",
        "ACCESSKEY",
        "PRIVATEKEY",
        "SECRETKEY",
    }
)
_SECRET_INSIDE = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_POINTER_WORDS = frozenset(
    {
        "FILE",
        "FILES",
        "PATH",
        "SOCK",
        "SOCKET",
        "DIR",
        "URL",
        "URI",
        "HOST",
        "ID",
        "NAME",
        "TYPE",
        "STORE",
        "HELPER",
        "HELPERS",
    }
)
_WORDS = _Lazy(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def secret_name(name: str) -> bool:
    """Whether a variable, label, flag or JSON key name looks like it holds a secret (see the module docstring)."""
    name = name.strip().lstrip("-")
    if not name or name.upper() in ("PWD", "OLDPWD"):
        return False
    words = [w.upper() for w in _WORDS.findall(name)]
    if not words or words[-1] in _POINTER_WORDS:
        return False
    if words[-1] == "KEY" or any(w in _SECRET_WORDS for w in words):
        return True
    joined = "".join(words)
    return any(part in joined for part in _SECRET_INSIDE)


# --------------------------------------------------------------------------- value rules

_URL_CREDENTIALS = _Lazy(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@<>\"']+(?::[^/\s@\"']*)?@")
_BEARER = _Lazy(r"(?i)\b(bearer|basic)\s+(?!<redacted>)[A-Za-z0-9._~+/=-]{8,}")
_KNOWN_TOKENS = _Lazy(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|dckr_pat_[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|(?:sk|rk)[-_](?=[\w-]*[A-Z])(?=[\w-]*\d)[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}"
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]+){1,2})",
    re.DOTALL,
)
_CURL_USER = _Lazy(r"(?<!\S)(?P<flag>-u|--user)(?P<sep>[ \t]+|=)(?P<user>[^\s:\"']+):(?P<value>[^\s\"']+)")
_VALUE = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|(?:[^\s\"'&;,|<>]|,(?![\w.-]+=))+)"
_ASSIGN = _Lazy(rf"(?P<key>(?<![\w.-])-{{0,2}}[A-Za-z_][\w.-]*)=(?P<value>{_VALUE})")
_ENV_SPACE = _Lazy(r"(?im)^(?P<pre>[ \t]*ENV[ \t]+)(?P<key>[A-Za-z_][\w.-]*)(?P<sep>[ \t]+)(?P<value>[^=\s].*)$")
_JSON_PAIR = _Lazy(r'"(?P<key>[^"\\\n]{1,120})"(?P<sep>\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)')
_YAML_PAIR = _Lazy(
    r"(?m)^(?P<pre>[ \t]*(?:-[ \t]+)?)(?P<q>[\"']?)(?P<key>[A-Za-z_][\w.-]*)(?P=q)"
    r"(?P<sep>[ \t]*:[ \t]+)(?P<value>\S[^\n]*)"
)
_FLAG_SPACE = _Lazy(r"(?<![\w-])(?P<flag>--[A-Za-z][\w-]*)(?P<sep>[ \t]+)(?P<value>(?!-)[^\s\"'&;|<>]+)")
_LOGIN_P = _Lazy(r"(?P<pre>\b(?:login|sshpass)\b[^\n;&|]*?(?<!\S)-p[ \t]+)(?P<value>[^\s\"'<>;&|]+)")
_JSON_ARGV = _Lazy(r'"(?P<flag>--?[A-Za-z][\w-]*)"(?P<sep>\s*,\s*)"(?P<value>(?:[^"\\]|\\.)*)"')
_LONG_RANDOM = _Lazy(r"(?<==)(?P<q>[\"']?)(?P<value>[A-Za-z0-9+/_-]{32,}={0,2})(?![\w+/=-])")
_HOMES = _Lazy(
    r"(?P<pre>(?<![\w.])(?:/var)?/home/|(?<![\w.])/Users/"
    r"|\b[A-Za-z]:(?:\\\\|\\|/)(?i:users)(?:\\\\|\\|/))"
    r"(?P<name>[^/\\\s\"'<>:;,|*?`$(){}\[\]]+)"
)
_SHARED_HOMES = frozenset({"Shared", "Public", "Default", "All", "linuxbrew", "~"})


def _looks_random(value: str) -> bool:
    if value.count("/") > 2 or not re.search(r"\d", value) or not re.search(r"[A-Za-z]", value):
        return False
    core = value.rstrip("=")
    return bool(re.fullmatch(r"[0-9a-fA-F]+", core)) or (
        bool(re.search(r"[a-z]", core)) and bool(re.search(r"[A-Z]", core))
    )


def _quoted(value: str) -> str:
    """`<redacted>`, keeping the quotes the value had so JSON and shell text stay well-formed."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return f"{value[0]}{REDACTED}{value[0]}"
    return REDACTED


def _by_name(match: re.Match[str], key: str = "key") -> str:
    value = match.group("value")
    if secret_name(match.group(key)):
        if REDACTED in value:
            return match.group(0)
        hidden = _quoted(value)
    elif "=" in value:  # a plain name whose value holds assignments: DOCKER_HOST=tcp://h?token=SECRET
        hidden = _ASSIGN.sub(_by_name, value)
    else:
        return match.group(0)
    start, end = match.span("value")
    whole_start = match.start(0)
    text = match.group(0)
    return text[: start - whole_start] + hidden + text[end - whole_start :]


def _json_argv(match: re.Match[str]) -> str:
    flag, value = match.group("flag"), match.group("value")
    hidden = secret_name(flag) or (flag == "-p" and value[:1] not in "0123456789")
    if not hidden or not value or value.startswith("-") or value == REDACTED:
        return match.group(0)
    return f'"{flag}"{match.group("sep")}"{REDACTED}"'


def scrub(text: str) -> str:
    """Secrets by value and by name hidden in one string (no identities: those need the facts)."""
    if not text or text.isalnum():
        return text
    text = _KNOWN_TOKENS.sub(REDACTED, text)
    if "@" in text:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if "-u" in text:
        text = _CURL_USER.sub(lambda m: f"{m.group('flag')}{m.group('sep')}{m.group('user')}:{REDACTED}", text)
    if '"' in text:
        text = _JSON_PAIR.sub(
            lambda m: f'"{m.group("key")}"{m.group("sep")}"{REDACTED}"' if secret_name(m.group("key")) else m.group(0),
            text,
        )
        if '"-' in text:
            text = _JSON_ARGV.sub(_json_argv, text)
    if "=" in text:
        text = _ASSIGN.sub(_by_name, text)
        text = _LONG_RANDOM.sub(
            lambda m: f"{m.group('q')}{REDACTED}" if _looks_random(m.group("value")) else m.group(0), text
        )
    if ": " in text or ":\t" in text:
        text = _YAML_PAIR.sub(_by_name, text)
    if "env" in lowered:
        text = _ENV_SPACE.sub(_by_name, text)
    if "--" in text:
        text = _FLAG_SPACE.sub(lambda m: _by_name(m, "flag"), text)
    if "-p" in text and ("login" in lowered or "sshpass" in lowered):
        text = _LOGIN_P.sub(lambda m: m.group("pre") + REDACTED, text)
    return text


def other_homes(text: str) -> str:
    """Any user's home path with the user name replaced by `<user>`."""
    lowered = text.lower()
    if "home/" not in lowered and "users" not in lowered:  # /home/, /Users/, C:\\Users\\ (any case)
        return text
    return _HOMES.sub(
        lambda m: (
            m.group(0)
            if m.group("name") in _SHARED_HOMES or m.group("name").startswith("<")
            else m.group("pre") + "<user>"
        ),
        text,
    )


# --------------------------------------------------------------------------- fields with a name and a value


def _env_line(text: str) -> str:
    """One `.env` line with its value hidden unless the name is allowed; comments and other text hidden too."""
    if not text.strip():
        return text
    match = re.match(r"^(?P<pre>\s*(?:export\s+)?)(?P<key>[A-Za-z_][\w.-]*)(?P<sep>\s*[=:]\s*)(?P<value>.*)$", text)
    if match is None:
        return REDACTED
    if match.group("key") in ENV_ALLOWED or not match.group("value"):
        return text
    return f"{match.group('pre')}{match.group('key')}{match.group('sep')}{REDACTED}"


def _project(project: ProjectFacts) -> ProjectFacts:
    dockerfiles = tuple(
        dataclasses.replace(
            df,
            args=tuple(
                dataclasses.replace(arg, default=REDACTED) if secret_name(arg.name) and arg.default else arg
                for arg in df.args
            ),
        )
        for df in project.dockerfiles
    )
    dotenv = tuple(e if e.name in ENV_ALLOWED else dataclasses.replace(e, value=REDACTED) for e in project.dotenv)
    end = dataclasses.replace(project.dotenv_end, text=_env_line(project.dotenv_end.text))
    return dataclasses.replace(project, dockerfiles=dockerfiles, dotenv=dotenv, dotenv_end=end)


_MYSQL_TOOLS = frozenset(
    {
        "mysql",
        "mysqld",
        "mysqladmin",
        "mysqldump",
        "mysqlcheck",
        "mysqlimport",
        "mariadb",
        "mariadb-admin",
        "mariadb-dump",
        "mariadb-check",
    }
)


def _argv(args: list[Any]) -> list[Any]:
    """An argv list: the value after `-p` (unless a port) or a secret-named flag hidden; MySQL's `-pSECRET` too."""
    out = list(args)
    mysql = any(isinstance(a, str) and a.rsplit("/", 1)[-1] in _MYSQL_TOOLS for a in out)
    for i, arg in enumerate(out):
        if not isinstance(arg, str):
            continue
        if mysql and arg.startswith("-p") and len(arg) > 2 and arg != "-p" + REDACTED:
            out[i] = "-p" + REDACTED  # mysql -pSECRET (its -P is the port)
            continue
        following = out[i + 1] if i + 1 < len(out) else None
        if not isinstance(following, str) or "=" in arg or following.startswith("-"):
            continue
        if (arg.startswith("--") and secret_name(arg)) or (arg == "-p" and following[:1] not in "0123456789"):
            out[i + 1] = REDACTED
    return out


def _named(mapping: Any) -> Any:
    """Build args or labels: secret-named values hidden (a list of NAME=value is left to the text rules)."""
    if isinstance(mapping, dict):
        return {k: REDACTED if secret_name(str(k)) and v not in (None, "") else v for k, v in mapping.items()}
    return mapping


def compose_config(data: Any) -> Any:
    """A `docker compose config --format json` document with environment values, secrets and argv secrets hidden."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    services = data.get("services")
    if isinstance(services, dict):
        cleaned = {}
        for name, service in services.items():
            if isinstance(service, dict):
                service = dict(service)
                env = service.get("environment")
                if isinstance(env, dict):
                    service["environment"] = {
                        k: v if k in ENV_ALLOWED or v is None else REDACTED for k, v in env.items()
                    }
                elif isinstance(env, list):
                    service["environment"] = [_env_line(v) if isinstance(v, str) else v for v in env]
                if isinstance(service.get("build"), dict):
                    service["build"] = dict(service["build"], args=_named(service["build"].get("args")))
                    if service["build"]["args"] is None:
                        del service["build"]["args"]
                service["labels"] = _named(service.get("labels"))
                if service["labels"] is None:
                    del service["labels"]
                for key in ("command", "entrypoint"):
                    if isinstance(service.get(key), list):
                        service[key] = _argv(service[key])
                health = service.get("healthcheck")
                if isinstance(health, dict) and isinstance(health.get("test"), list):
                    service["healthcheck"] = dict(health, test=_argv(health["test"]))
            cleaned[name] = service
        data["services"] = cleaned
    for section in ("secrets", "configs"):
        items = data.get(section)
        if isinstance(items, dict):
            data[section] = {
                k: dict(v, content=REDACTED) if isinstance(v, dict) and "content" in v else v for k, v in items.items()
            }
    return data


_RUN_ANSWER = _Lazy(r"\A(?P<head>exit -?\d+\n--- stdout\n)(?P<stdout>.*?)(?P<tail>--- stderr\n.*)\Z", re.DOTALL)


def _raw(answer: RawAnswer) -> RawAnswer:
    """The `docker compose config` answer with its JSON document redacted by structure (the text rules follow)."""
    if "compose" not in answer.source or " config" not in answer.source:
        return answer
    match = _RUN_ANSWER.match(answer.text)
    if match is None:
        return answer
    try:
        data = json.loads(match.group("stdout"))
    except (ValueError, RecursionError):
        return answer
    stdout = json.dumps(compose_config(data), indent=2, ensure_ascii=False) + "\n"
    return dataclasses.replace(answer, text=match.group("head") + stdout + match.group("tail"))


# --------------------------------------------------------------------------- the walk


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}  # a type's dataclass fields (None: not a dataclass)


def _field_names(kind: type) -> tuple[str, ...] | None:
    names = _FIELD_NAMES.get(kind, ())
    if names == ():
        names = tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None
        _FIELD_NAMES[kind] = names
    return names


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    """`value` with fn applied to every string in it; a dataclass or tuple in which nothing changed is kept as it
    is (fn gives back the very string it was given when it changes nothing), so only what changed is rebuilt."""
    kind = type(value)
    if kind is str:
        return fn(value)
    if isinstance(value, tuple):
        items = tuple(_walk(v, fn) for v in value)
        if kind is tuple and all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items
    names = _field_names(kind)
    if names is None:
        return value
    changes = {}
    for name in names:
        old = getattr(value, name)
        new = _walk(old, fn)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


def _private_registry_hosts(facts: Facts) -> list[str]:
    candidates = list(facts.engine.insecure_registries) + list(facts.engine.registry_mirrors)
    refs = [r.canonical for r in facts.images.remote] + [t for i in facts.images.local for t in i.repo_tags]
    refs += [c.image for c in facts.images.containers]
    candidates += [ref.split("/", 1)[0] for ref in refs if "/" in ref]
    hosts = []
    for item in candidates:
        host = re.sub(r"^[a-z]+://", "", item).split("/", 1)[0]
        is_public = host in PUBLIC_REGISTRIES or host.endswith((".docker.io", ".pkg.dev", ".amazonaws.com.cn"))
        if (
            host
            and ("." in host or ":" in host)
            and not is_public
            and not re.match(r"^[\d.:/]+$", host)
            and host not in hosts
            and not host.startswith(("localhost", "<"))
        ):
            hosts.append(host)
    return hosts


def _placeholder(value: str) -> bool:
    return value.startswith("<") and value.endswith(">")


# words of platform strings: a host or user named `arm64` or `linux` is replaced in its own fields, but never as a
# word elsewhere, where it would turn `linux/arm64` into `linux/<host>` (found by the parser fuzzing)
_PLATFORM_WORDS = KNOWN_OS | KNOWN_ARCHITECTURES | {"v5", "v6", "v7", "v8", "v1", "v2", "v3", "v4", "x86_64", "aarch64"}


def _identifying(name: str) -> bool:
    """A name worth replacing wherever it stands as a word."""
    return bool(name) and name != "localhost" and not _placeholder(name) and name.lower() not in _PLATFORM_WORDS


def redact(facts: Facts, *, registries: bool = False) -> Facts:
    """Facts with identities, credentials and unlisted environment values replaced by placeholders.

    Idempotent, and applied again to facts that an older dockdoctor redacted (a replayed ticket gets today's rules).
    """
    host = facts.host
    replacements: list[tuple[str, str]] = []  # (exact text, placeholder), replaced as whole names
    if host.home and host.home not in ("/", "", "~"):
        replacements.append((host.home, "~"))
    if _identifying(host.hostname):
        replacements.append((host.hostname, "<host>"))
    name = facts.engine.name or ""
    if _identifying(name) and name != host.hostname and not _PRODUCT_NAMES.match(name):
        replacements.append((name, "<engine-host>"))
    if registries:
        replacements += [(h, f"<registry-{i}>") for i, h in enumerate(_private_registry_hosts(facts), 1)]
    names = [
        (raw, re.compile(rf"(?<![\w-]){re.escape(raw)}(?![\w-])"), placeholder)
        for raw, placeholder in sorted(replacements, key=lambda r: -len(r[0]))
    ]
    user = host.user if _identifying(host.user) else ""
    # the user name in home paths, and as a word of its own (not inside a path such as /dev/null)
    user_pattern = (
        re.compile(
            rf"(?P<pre>/Users/|/home/|\\Users\\){re.escape(user)}(?=[/\\]|$)|"
            rf"(?<![\w./\\-]){re.escape(user)}(?![\w-])"
        )
        if user
        else None
    )

    done: dict[str, str] = {}  # the same text comes back many times (platforms, digests, paths): cleaned once

    def clean(text: str) -> str:
        if text in done:
            return done[text]
        given = text
        text = scrub(text)
        for raw, pattern, placeholder in names:
            if raw in text:  # each pattern matches only where its literal text stands
                text = pattern.sub(placeholder, text)
        if user_pattern is not None and user in text:
            text = user_pattern.sub(lambda m: (m.group("pre") or "") + "<user>", text)
        done[given] = text = other_homes(text)
        return text

    environment = tuple((k, v if k in ENV_ALLOWED else REDACTED) for k, v in facts.environment)
    project = _project(facts.project) if facts.project is not None else None
    raw = tuple(_raw(answer) for answer in facts.raw)
    cleaned: Facts = _walk(dataclasses.replace(facts, environment=environment, project=project, raw=raw), clean)
    identity = dataclasses.replace(
        cleaned.host,
        hostname="<host>" if host.hostname else "",
        user="<user>" if host.user else "",
        home="~" if host.home else "",
    )
    return dataclasses.replace(cleaned, host=identity, redacted=True)


def secrets(value: Any) -> Any:
    """`value` (facts, a report, a fix plan or result) with its secrets hidden and its identities kept.

    What `fix` shows: its edits need the real paths, user and host names, so it gathers unredacted facts; what it
    prints (the plan, the outcomes, `fix --json`) still never holds a token, a password or an environment value.
    The same value and name rules as redact(), and for facts the same field rules (environment, `.env`, ARG
    defaults, raw answers).
    """
    if isinstance(value, Facts):
        environment = tuple((k, v if k in ENV_ALLOWED else REDACTED) for k, v in value.environment)
        project = _project(value.project) if value.project is not None else None
        raw = tuple(_raw(answer) for answer in value.raw)
        return _walk(dataclasses.replace(value, environment=environment, project=project, raw=raw), scrub)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value, **{f.name: secrets(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        )
    if isinstance(value, tuple):
        return tuple(secrets(v) for v in value)
    return scrub(value) if type(value) is str else value
