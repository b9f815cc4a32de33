"""The user-level settings file: `config.toml` in platformdirs' user_config_dir("dockdoctor").

Same keys as the project's `.dockdoctor.toml` (targets, ignore, severity, strict); the project's settings win
(config.merge_settings). It is read through the one file door (a regular file, at most 1 MiB, opened without
blocking); a file that cannot be used is a one-line ConfigError naming it, never a traceback.
"""

from __future__ import annotations

import os
import sys

from dockdoctor.config import Settings, parse_settings
from dockdoctor.errors import ConfigError
from dockdoctor.probes._files import Unread, read_bytes

FILE_NAME = "config.toml"


def user_settings_path() -> str:
    """Where the user's settings file is (XDG_CONFIG_HOME/dockdoctor/config.toml on Linux)."""
    from platformdirs import user_config_dir

    return os.path.join(user_config_dir("dockdoctor", appauthor=False), FILE_NAME)


def shown(path: str) -> str:
    """The path as reports show it: the home folder as `~` (reports never carry the user's name)."""
    home = os.path.expanduser("~").rstrip(os.sep)
    return "~" + path[len(home) :] if home and path.startswith(home + os.sep) else path


def load_user_settings(path: str | None = None) -> Settings:
    """The user's settings, or Settings() when there is no such file (then tomllib is not imported: ~3 ms)."""
    path = path or user_settings_path()
    if not os.path.lexists(path):
        return Settings()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

    name = shown(path)
    fix = f"fix or remove it (the user settings file, {FILE_NAME} in dockdoctor's config folder)"
    try:
        data = tomllib.loads(read_bytes(path).decode("utf-8"))
    except Unread as unread:
        raise ConfigError(f"{name}: not read ({unread.reason}); make it a regular file, or remove it") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{name}: not UTF-8 text (byte {err.start}); save it as UTF-8, or remove it") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{name}: cannot read it as TOML ({err}); {fix}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{name}: nested too deeply to read as TOML; {fix}") from None
    return parse_settings(data, source=name)
