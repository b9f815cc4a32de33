"""`dockdoctor plugin install|uninstall`: the docker-doctor launcher in the docker CLI's plugin folder, and completion.

The docker CLI looks for `docker-<name>` in `<config dir>/cli-plugins` (DOCKER_CONFIG, else ~/.docker), then in
its system folders (github.com/docker/cli, cli-plugins/manager/manager.go getPluginDirs). The launcher is a small
shell script that runs this very dockdoctor with this very Python; install writes it through files.py's writer
and never replaces a file it did not write (the marker line says which are ours); uninstall removes only ours.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from dockdoctor import __version__
from dockdoctor.errors import WriteError

LAUNCHER_NAME = "docker-doctor"
MARKER = "dockdoctor-plugin-launcher"  # in every launcher this module writes, and in no other file
MAX_LAUNCHER = 64 * 1024
# cobra's ShellCompDirective (spf13/cobra completions.go): what the shell does beside our candidates
_DIRECTIVE = {"file": 0, "dir": 16, "plain": 4}  # Default (files), FilterDirs, NoFileComp


def plugin_folder() -> str:
    """`<docker config dir>/cli-plugins`: the folder the docker CLI searches first (after cliPluginsExtraDirs)."""
    from dockdoctor.probes.endpoint import config_dir

    return os.path.join(config_dir(os.environ), "cli-plugins")


def launcher(python: str, *, source: str | None = None) -> bytes:
    """The launcher's text: `python` runs dockdoctor._entry, with `source` first on sys.path when dockdoctor came
    from PYTHONPATH (a checkout). Never the current folder: a `dockdoctor/` folder in a project must not run."""
    lines = ["import sys", 'if sys.path and sys.path[0] == "":', "    del sys.path[0]"]
    if source:
        lines.append(f"sys.path.insert(0, {source!r})")
    lines += ["from dockdoctor._entry import main", "sys.exit(main())"]
    code = "\n".join(lines)
    import shlex  # here: the CLI imports this module on every run, install is rare

    return (
        "#!/bin/sh\n"
        f"# docker-doctor: `docker doctor ...` runs dockdoctor {__version__} ({MARKER} 1).\n"
        "# Written by `dockdoctor plugin install`; `dockdoctor plugin uninstall` removes it.\n"
        f'exec {shlex.quote(python)} -c {shlex.quote(code)} "$@"\n'
    ).encode()


def _source() -> str | None:
    """The folder dockdoctor was imported from, when that came from PYTHONPATH (else the interpreter finds it)."""
    import dockdoctor

    parent = os.path.dirname(os.path.dirname(os.path.abspath(dockdoctor.__file__)))
    entries = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return parent if parent in entries else None


def _ours(path: str) -> bytes | None:
    """The launcher's bytes when `path` is a launcher we wrote; None when nothing is there; WriteError otherwise."""
    from dockdoctor.files import read_regular

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise WriteError(f"{path}: cannot read it ({err.strerror or err})") from None
    if not os.path.isfile(path) or os.path.islink(path) or st.st_size > MAX_LAUNCHER:
        raise WriteError(_not_ours(path))
    try:
        data = read_regular(path, limit=MAX_LAUNCHER)
    except OSError as err:
        raise WriteError(f"{path}: cannot read it ({err.strerror or err})") from None
    if MARKER.encode() not in data:
        raise WriteError(_not_ours(path))
    return data


def _not_ours(path: str) -> str:
    what = "a link" if os.path.islink(path) else "a file dockdoctor did not write"
    return f"{path}: is {what}: left as it is; remove it yourself first if `docker doctor` should run dockdoctor"


def install() -> str:
    """Write (or refresh) the launcher; the path written."""
    from dockdoctor.files import own_folders, write_file

    folder = plugin_folder()
    path = os.path.join(folder, LAUNCHER_NAME)
    data = launcher(sys.executable, source=_source())
    old = _ours(path)
    try:
        own_folders(folder)
    except OSError as err:
        raise WriteError(f"{folder}: cannot create it ({err.strerror or err})") from None
    if old is None:
        write_file(path, data, exclusive=True)
    else:
        write_file(path, data, expect=old)
    try:
        mode = os.stat(path).st_mode & 0o7777
        os.chmod(path, mode | ((mode & 0o444) >> 2))  # executable wherever it is readable
    except OSError as err:
        raise WriteError(f"{path}: written, but cannot make it executable ({err.strerror or err})") from None
    return path


def uninstall() -> str | None:
    """Remove our launcher; the path removed, or None when there was none."""
    path = os.path.join(plugin_folder(), LAUNCHER_NAME)
    if _ours(path) is None:
        return None
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise WriteError(f"{path}: cannot remove it ({err.strerror or err})") from None
    return path


@click.group("plugin")
def plugin_group() -> None:
    """The docker CLI plugin: `docker doctor ...` runs dockdoctor."""


@plugin_group.command("install")
def install_cmd() -> None:
    """Put the docker-doctor launcher into the docker CLI's plugin folder (DOCKER_CONFIG/cli-plugins, else
    ~/.docker/cli-plugins); a file there that dockdoctor did not write is never replaced."""
    path = install()
    click.echo(f"installed {path}: `docker doctor check` runs this dockdoctor ({sys.executable})")


@plugin_group.command("uninstall")
def uninstall_cmd() -> None:
    """Remove the docker-doctor launcher that `plugin install` wrote (and nothing else)."""
    path = uninstall()
    if path is None:
        click.echo(f"nothing to remove: no {os.path.join(plugin_folder(), LAUNCHER_NAME)}")
    else:
        click.echo(f"removed {path}")


def complete(args: Sequence[str]) -> int:
    """Answer the docker CLI's `docker-doctor __complete doctor ARGS... WORD` in cobra's format: one candidate a
    line (`value<TAB>help`), then `:<directive>`; the candidates are click's own for `dockdoctor ARGS... WORD`."""
    from click.shell_completion import ShellComplete

    from dockdoctor.cli import cli

    words = list(args)
    incomplete = words.pop() if words else ""
    items = ShellComplete(cli, {}, "dockdoctor", "_DOCKDOCTOR_COMPLETE").get_completions(words, incomplete)
    directive = 4
    for item in items:
        if item.type in ("file", "dir"):
            directive = _DIRECTIVE[item.type]
            continue
        help_text = " ".join((item.help or "").split())
        sys.stdout.write(f"{item.value}\t{help_text}\n" if help_text else f"{item.value}\n")
    sys.stdout.write(f":{directive}\n")
    return 0
