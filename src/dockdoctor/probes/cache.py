"""dockdoctor's own cache folder: the registry cache lives in its `registry/`, the undo log of `fix` in `undo/`."""

from __future__ import annotations

from collections.abc import Mapping

from dockdoctor.probes._run import environ


def cache_root(env: Mapping[str, str] | None = None) -> str:
    """dockdoctor's cache folder: DOCKDOCTOR_CACHE_DIR, else the platform's user cache folder.

    `env`: the environment to read (the process's when None).
    """
    env = environ() if env is None else env
    if env.get("DOCKDOCTOR_CACHE_DIR"):
        return env["DOCKDOCTOR_CACHE_DIR"]
    import platformdirs

    return str(platformdirs.user_cache_path("dockdoctor", appauthor=False))
