"""The first code of every run: answers the docker CLI's plugin questions and --version before importing click.

The docker CLI runs `docker-doctor docker-cli-plugin-metadata` for every `docker --help` and every completion
(github.com/docker/cli, cli-plugins/manager/candidate.go), so that answer is a constant printed by this module
with nothing but the standard library loaded. Run as a plugin, the CLI passes its own command line through whole
(manager.PluginRunCommand: `os.Args[1:]`): `docker --context X doctor check` runs `docker-doctor --context X doctor
check`, with DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND set to the CLI's own argv[0]. The global options before `doctor`
become the environment variables the probes already follow (the CLI's precedence: a context given with --context
wins over DOCKER_HOST, -H over DOCKER_CONTEXT), then the rest of the command line goes to `dockdoctor.cli.run`.
"""

from __future__ import annotations

import os
import sys

from dockdoctor import __version__

TYPE_CHECKING = False  # not typing's: importing typing (and re with it) would double the start-up time
if TYPE_CHECKING:
    from collections.abc import MutableMapping, Sequence

PLUGIN_NAME = "doctor"
METADATA_COMMAND = "docker-cli-plugin-metadata"  # cli-plugins/metadata/metadata.go: MetadataSubcommandName
COMPLETE_COMMAND = "__complete"  # cobra.ShellCompRequestCmd: the CLI delegates `docker doctor <TAB>` to us
ORIGINAL_CLI = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"  # metadata.ReexecEnvvar
# SchemaVersion 0.1.0 is the one every docker CLI accepts (before 28.4.1 the only one); Vendor is mandatory.
METADATA = (
    f'{{"SchemaVersion": "0.1.0", "Vendor": "dockdoctor", "Version": "{__version__}", '
    '"ShortDescription": "Diagnose Docker platform mismatches (Apple silicon Macs, Linux servers)"}\n'
)
VERSION = f"dockdoctor, version {__version__}\n"  # click's version_option says the same

# The docker CLI's global options (cli/flags/options.go InstallFlags): long name -> (short name, takes a value).
GLOBAL_OPTIONS: dict[str, tuple[str | None, bool]] = {
    "config": (None, True),
    "context": ("c", True),
    "debug": ("D", False),
    "host": ("H", True),
    "log-level": ("l", True),
    "tls": (None, False),
    "tlscacert": (None, True),
    "tlscert": (None, True),
    "tlskey": (None, True),
    "tlsverify": (None, False),
}
_SHORT = {short: long for long, (short, _) in GLOBAL_OPTIONS.items() if short}
_TRUE = ("1", "t", "T", "true", "TRUE", "True")  # strconv.ParseBool, as pflag reads `--tls=true`
_FALSE = ("0", "f", "F", "false", "FALSE", "False")
_PEM = {"tlscacert": "ca.pem", "tlscert": "cert.pem", "tlskey": "key.pem"}


class PluginArgsError(Exception):
    """A global option the docker CLI passed that dockdoctor cannot follow; the message is the one line shown."""


def main() -> int:
    """The console script and `python -m dockdoctor`: the fast answers here, everything else in dockdoctor.cli."""
    argv = sys.argv[1:]
    if argv == [METADATA_COMMAND]:
        sys.stdout.write(METADATA)
        return 0
    if argv == ["--version"]:
        sys.stdout.write(VERSION)
        return 0
    try:
        split = plugin_args(argv, os.environ, program=sys.argv[0] if sys.argv else "")
        if split is not None:
            apply_globals(split[0], os.environ)
    except PluginArgsError as err:
        sys.stderr.write(f"docker doctor: {err}\n")
        return 2
    if split is not None:
        rest = split[1]
        if rest[:1] == [METADATA_COMMAND]:
            sys.stdout.write(METADATA)
            return 0
        if rest[:1] == [COMPLETE_COMMAND]:
            from dockdoctor.plugin import complete

            return complete(rest[1:])
        sys.argv[1:] = rest
    from dockdoctor._help import answer

    if answer(sys.argv[1:]):  # `--help`, `COMMAND --help`: the kept text, without importing click (_help.py)
        return 0
    # signal's C half: `import signal` builds its enums, a window of a few ms in which a Ctrl-C still raised
    import _signal  # type: ignore[import-not-found]  # (typeshed has no stub for it)

    _signal.signal(_signal.SIGINT, _interrupted)  # until the CLI runs (console/process.py installs its own)
    import gc

    from dockdoctor import knowledge
    from dockdoctor._codecache import install, kept_table

    gc.disable()  # as console.process.run() keeps it, from before the imports: their objects are never scanned
    install()  # the methods of every dataclass from here on: byte code kept from the last run (_codecache.py)
    knowledge.keeper = kept_table  # and the parsed knowledge tables, kept as byte code is
    if sys.argv[1:2] == ["inspect"]:  # its registry lookups run while click and the CLI are imported
        from dockdoctor.probes.early import begin_for_argv

        begin_for_argv(sys.argv[1:])
    from dockdoctor.cli import run

    if sys.argv[1:2] != ["check"]:
        run()
    from dockdoctor.probes._prestart import discard, for_argv, start

    start(for_argv(sys.argv[1:]))  # its docker commands run while the model and the catalog are imported
    try:
        run()
    finally:
        discard()  # what `check` did not claim, when it never ran (a usage error)


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C before the CLI runs: nothing is written or reported yet, so the process ends at once with 130, as a
    second Ctrl-C does later. A KeyboardInterrupt raised here could land in a class being built by an import and
    come out as a RuntimeError with a traceback (CPython 3.11 wraps what __set_name__ raises)."""
    os.write(2, b"dockdoctor: interrupted\n")
    os._exit(130)


def plugin_args(
    argv: Sequence[str], env: MutableMapping[str, str], *, program: str
) -> tuple[list[tuple[str, str]], list[str]] | None:
    """The docker CLI's global options and the arguments after `doctor`, when this is a plugin run; else None.

    A plugin run is `[global options] doctor ...` (or `__complete doctor ...`) from the docker CLI (it sets
    DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND), under the name docker-doctor, or with `doctor` first.
    `dockdoctor check` is never one: its first argument is not a global option nor `doctor`.
    """
    if not argv:
        return None
    from_cli = bool(env.get(ORIGINAL_CLI)) or os.path.basename(program).startswith("docker-" + PLUGIN_NAME)
    if argv[0] == COMPLETE_COMMAND and len(argv) > 1 and argv[1] == PLUGIN_NAME:
        return [], [COMPLETE_COMMAND, *argv[2:]]
    if argv[0] != PLUGIN_NAME and not (from_cli and (argv[0].startswith("-") or argv[0] == "help")):
        return None
    try:
        globals_, index = parse_globals(argv)
    except PluginArgsError:
        if not from_cli:
            return None
        raise
    if from_cli and argv[index : index + 2] == ["help", PLUGIN_NAME]:  # `docker help doctor [COMMAND]`
        return globals_, [*argv[index + 2 :], "--help"]
    if index >= len(argv) or argv[index] != PLUGIN_NAME:
        if from_cli and index:
            raise PluginArgsError(f"expected `doctor` after the docker CLI's global options, got {argv[index:][:1]}")
        return None
    return globals_, list(argv[index + 1 :])


def parse_globals(argv: Sequence[str]) -> tuple[list[tuple[str, str]], int]:
    """pflag's reading of the leading global options: (long name, value) pairs and the index of the first other
    argument. Booleans read `--tls`, `--tls=false`, `-D`; values `--host X`, `--host=X`, `-H X`, `-HX`, `-H=X`, and
    short flags cluster (`-Dc name`)."""
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return found, i + 1
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name not in GLOBAL_OPTIONS:
                raise PluginArgsError(f"unknown global option --{name}")
            takes_value = GLOBAL_OPTIONS[name][1]
            if takes_value and not eq:
                if i + 1 >= len(argv):
                    raise PluginArgsError(f"--{name} needs a value")
                i += 1
                value = argv[i]
            elif not takes_value:
                value = _bool(name, value if eq else "true")
            found.append((name, value))
        elif arg.startswith("-") and len(arg) > 1:
            cluster = arg[1:]
            while cluster:
                short, cluster = cluster[0], cluster[1:]
                name = _SHORT.get(short, "")
                if not name:
                    raise PluginArgsError(f"unknown global option -{short}")
                if not GLOBAL_OPTIONS[name][1]:
                    found.append((name, "true"))
                    continue
                if cluster:
                    value = cluster[1:] if cluster.startswith("=") else cluster
                elif i + 1 < len(argv):
                    i += 1
                    value = argv[i]
                else:
                    raise PluginArgsError(f"-{short} needs a value")
                found.append((name, value))
                cluster = ""
        else:
            return found, i
        i += 1
    return found, i


def _bool(name: str, value: str) -> str:
    if value in _TRUE:
        return "true"
    if value in _FALSE:
        return "false"
    raise PluginArgsError(f"--{name}={value}: give true or false")


def apply_globals(options: Sequence[tuple[str, str]], env: MutableMapping[str, str]) -> None:
    """Turn the docker CLI's global options into the environment the probes read, with the CLI's precedence.

    --config: DOCKER_CONFIG. --context: DOCKER_CONTEXT (and DOCKER_HOST no longer counts). -H: DOCKER_HOST (and
    DOCKER_CONTEXT no longer counts). --tlsverify: DOCKER_TLS_VERIFY; --tls: TLS without verification from the
    certificates folder. --tlscacert/--tlscert/--tlskey: the folder that holds ca.pem, cert.pem and key.pem becomes
    DOCKER_CERT_PATH (dockdoctor reads them from one folder). --debug: DOCKDOCTOR_DEBUG (tracebacks). --log-level:
    accepted (dockdoctor has no log). DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: its folder goes first on PATH, so the
    compose and buildx probes run the docker CLI the user ran.
    """
    values = dict(options)
    if "context" in values and "host" in values:
        raise PluginArgsError("conflicting options: cannot specify both --host and --context")
    for name, value in options:
        if not value and name in ("config", "context", "host"):
            raise PluginArgsError(f"--{name} needs a value, got an empty one")
    if "config" in values:
        env["DOCKER_CONFIG"] = values["config"]
    if "context" in values:
        env["DOCKER_CONTEXT"] = values["context"]
        env.pop("DOCKER_HOST", None)
    if "host" in values:
        env["DOCKER_HOST"] = values["host"]
        env.pop("DOCKER_CONTEXT", None)
    if values.get("debug") == "true":
        env["DOCKDOCTOR_DEBUG"] = "1"
    _apply_tls(values, env)
    _prefer_original_cli(env)


def _apply_tls(values: dict[str, str], env: MutableMapping[str, str]) -> None:
    if "tlsverify" in values:
        if values["tlsverify"] == "true":
            env["DOCKER_TLS_VERIFY"] = "1"
        else:
            env.pop("DOCKER_TLS_VERIFY", None)
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    tls = verify or values.get("tls") == "true" or (values.get("tls") != "false" and bool(env.get("DOCKER_TLS")))
    files = {name: values[name] for name in _PEM if name in values}
    if files and tls:
        folders = {os.path.dirname(os.path.abspath(path)) for path in files.values()}
        named = all(os.path.basename(path) == _PEM[name] for name, path in files.items())
        if len(folders) != 1 or not named:
            given = ", ".join(f"--{name} {path}" for name, path in files.items())
            raise PluginArgsError(
                f"{given}: dockdoctor reads TLS files from one folder as ca.pem, cert.pem and key.pem; "
                "put them there and give that folder as DOCKER_CERT_PATH"
            )
        env["DOCKER_CERT_PATH"] = folders.pop()
    elif values.get("tls") == "true" and not verify and not env.get("DOCKER_CERT_PATH"):
        env["DOCKER_CERT_PATH"] = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    if values.get("tls") == "true":
        env["DOCKER_TLS"] = "1"


def _prefer_original_cli(env: MutableMapping[str, str]) -> None:
    original = env.get(ORIGINAL_CLI, "")
    if os.sep not in original or os.path.basename(original) != "docker":
        return  # `docker` found on PATH, as the probes find it
    folder = os.path.dirname(os.path.abspath(original))
    path = env.get("PATH", "")
    if path.split(os.pathsep)[:1] != [folder]:
        env["PATH"] = folder + (os.pathsep + path if path else "")
