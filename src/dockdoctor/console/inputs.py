"""What the CLI reads and writes for the commands: `--from` files, the project settings, error texts, -o files."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from dockdoctor.errors import ConfigError, ReplayFileError

if TYPE_CHECKING:
    import datetime

    from dockdoctor.config import Settings
    from dockdoctor.model import ErrorText, Facts, Report

MAX_FROM_BYTES = 64 << 20  # a --from file (facts, report or bundle) larger than this is not one dockdoctor wrote
MAX_ERROR_TEXT = 4 * 1024 * 1024  # characters of a paste or the end of a log: more is not one error


def read_facts_text(path: str) -> str:
    """The facts JSON of a `--from` file: a facts file, a JSON report or a support bundle (at most 64 MiB each)."""
    from dockdoctor import bundle

    try:
        with open(path, "rb") as fh:  # a plain open: `--from <(command)` is a FIFO the user means
            data = fh.read(MAX_FROM_BYTES + 1)
        if len(data) > MAX_FROM_BYTES:
            raise ReplayFileError(f"{path}: larger than {MAX_FROM_BYTES >> 20} MiB: not a file dockdoctor wrote")
        return bundle.facts_text(data, source=path) if bundle.is_bundle(data) else data.decode("utf-8")
    except FileNotFoundError:
        raise ReplayFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReplayFileError(f"{path}: is a directory, expected a facts or report JSON file") from None
    except UnicodeDecodeError as err:
        raise ReplayFileError(
            f"{path}: not UTF-8 text (byte {err.start}): expected a facts or report JSON file or a bundle zip"
        ) from None
    except OSError as err:
        raise ReplayFileError(f"{path}: cannot read it ({err.strerror or err})") from None


def replay(path: str | None) -> Facts | None:
    """The facts of a `--from` file, or None without one."""
    if path is None:
        return None
    from dockdoctor import codec

    return codec.facts_from_json(read_facts_text(path), source=path)


def load_settings(project: str | None) -> Settings:
    """The project settings: .dockdoctor.toml, else [tool.dockdoctor] in pyproject.toml, over the user's file.

    Read like every project file (probes._files): a regular file inside the project folder, at most 1 MiB, opened
    without blocking; anything else is a one-line ConfigError naming the file and what to do.
    """
    from dockdoctor.config import merge_settings, parse_settings
    from dockdoctor.probes._files import Unread, read_bytes
    from dockdoctor.probes.user_settings import load_user_settings

    user = load_user_settings()  # the user's own file, under the project's
    if project is None:
        return user
    for name, table in ((".dockdoctor.toml", ()), ("pyproject.toml", ("tool", "dockdoctor"))):
        path = os.path.join(project, name)
        if not os.path.lexists(path):
            continue  # a project without settings files never imports tomllib (~3 ms)
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
        fix = "fix or remove it, or run with --no-project"
        try:
            data = tomllib.loads(read_bytes(path, root=project).decode("utf-8"))
        except Unread as unread:
            raise ConfigError(
                f"{path}: not read ({unread.reason}); make it a regular file in the project folder, "
                f"or run with --no-project"
            ) from None
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8, or run with --no-project"
            ) from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: cannot read it as TOML ({err}); {fix}") from None
        except (RecursionError, MemoryError):
            raise ConfigError(f"{path}: nested too deeply to read as TOML; {fix}") from None
        for key in table:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if table and not isinstance(data, dict):
            raise ConfigError(
                f"{path}: `{'.'.join(table)}` must be a table ([tool.dockdoctor] with targets, "
                f"ignore, severity, strict), not {a_kind(data)}"
            )
        if data or not table:
            return merge_settings(user, parse_settings(data, source=path))
    return user


def a_kind(value: object) -> str:
    """A TOML value's kind in words, for an error message."""
    kinds = {bool: "true or false", int: "a number", float: "a number", str: "a string", list: "a list"}
    return kinds.get(type(value), "a value")


def project_folder(project: str) -> str:
    """The project folder as given (settings sources in reports keep the user's spelling), once it is known to be a
    folder; a one-line error for a missing folder or a deleted current folder."""
    try:
        folder = os.path.abspath(project)
    except OSError:  # os.getcwd() of a folder that was deleted under the shell
        raise ConfigError(
            "the current folder no longer exists (deleted?): cd to a folder that exists, "
            "or give --project DIR (check also takes --no-project)"
        ) from None
    if not os.path.isdir(folder):
        raise ConfigError(f"--project {project}: not a folder")
    return project


def error_texts(texts: tuple[str, ...], files: tuple[str, ...], *, stdin_ok: bool) -> tuple[ErrorText, ...]:
    """The error texts of `explain-error`: arguments (one message), `-` or a piped stdin, and --file logs."""
    from dockdoctor.model import ErrorText

    found = []
    if texts and texts != ("-",):
        found.append(ErrorText(source="argument", text=" ".join(texts)))
    if texts == ("-",) or (stdin_ok and not texts and not files and not sys.stdin.isatty()):
        found.append(ErrorText(source="stdin", text=sys.stdin.read(MAX_ERROR_TEXT)))
    for path in files:
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - MAX_ERROR_TEXT))
                data = fh.read(MAX_ERROR_TEXT)
        except FileNotFoundError:
            raise ConfigError(f"--file {path}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"--file {path}: is a directory, expected a log file") from None
        except OSError as err:
            raise ConfigError(f"--file {path}: cannot read it ({err.strerror or err})") from None
        found.append(ErrorText(source=f"file {path}", text=data.decode("utf-8", "replace")))
    return tuple(found)


def write_file(path: str, content: str | bytes) -> None:
    """--save-facts and report -o: the shared in-place writer (symlinks, owner, mode and hard links kept)."""
    from dockdoctor.files import write_file as write

    write(path, content.encode("utf-8") if isinstance(content, str) else content)


def save_facts(path: str | None, facts: Facts) -> None:
    """--save-facts FILE: the facts file (what `check --from` reads); nothing without the option."""
    if path:
        from dockdoctor import codec

        write_file(path, codec.facts_to_json(facts))


def path_prefix(project_dir: str | None) -> str:
    """The project folder relative to the current folder (the checkout in CI), for file paths in SARIF and
    annotations; "" when it is the current folder or outside it."""
    if project_dir is None:
        return ""
    try:
        rel = os.path.relpath(os.path.abspath(project_dir))
    except (OSError, ValueError):
        return ""
    return "" if rel == "." or rel.startswith("..") else rel.replace(os.sep, "/")


def write_bundle(report: Report, *, path: str | None, now: datetime.datetime) -> str:
    """`dockdoctor report`: the support bundle written to `path` (default dockdoctor-report-TIME.zip); what to tell
    the user about it (where it is, its size, whether it is redacted, and what is inside)."""
    import platform

    from dockdoctor import bundle
    from dockdoctor.render import RenderOptions
    from dockdoctor.render.safe import visible

    path = path or f"dockdoctor-report-{now.strftime('%Y%m%d-%H%M%S')}.zip"
    data, manifest = bundle.build(
        report, python_version=platform.python_version(), created_at=now.isoformat(), options=RenderOptions()
    )
    write_file(path, data)
    lines = [
        f"wrote {path} ({len(data) // 1024 + 1} KiB, {len(manifest['files']) + 1} files, "
        f"{'redacted' if manifest['redacted'] else 'NOT redacted'}); nothing was uploaded",
        f"  {bundle.MANIFEST}  what is inside, with sizes and SHA-256",
        *(f"  {item['name']}  {item['what']}" for item in manifest["files"]),
    ]
    return "".join(visible(line) + "\n" for line in lines)


def shipped_schema(which: str) -> str:
    """The JSON Schema dockdoctor ships for `which` (report, facts, fix, fleet), at the version it writes."""
    from importlib.resources import files

    from dockdoctor.codec import FIX_VERSION
    from dockdoctor.model import REPORT_VERSION, SCHEMA_VERSION
    from dockdoctor.model.fleet import FLEET_VERSION

    version = {"report": REPORT_VERSION, "facts": SCHEMA_VERSION, "fix": FIX_VERSION, "fleet": FLEET_VERSION}[which]
    return (files("dockdoctor") / "schemas" / f"{which}-v{version}.schema.json").read_text("utf-8")
