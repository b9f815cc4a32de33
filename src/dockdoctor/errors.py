"""The few exceptions that reach the CLI: each carries a message written for the user."""

from __future__ import annotations


class DockdoctorError(Exception):
    """Root of every error dockdoctor reports to the user; `str(err)` is the one line shown."""

    exit_code = 2


class ReplayFileError(DockdoctorError):
    """A `--from` file that cannot be read, is not JSON, or is from an unknown schema."""


class ConfigError(DockdoctorError):
    """A settings file or option value that dockdoctor cannot use."""


class UnknownCheckError(DockdoctorError):
    """A check code or slug that is not in the catalog."""


class WriteError(DockdoctorError):
    """A file dockdoctor was asked to write and could not (or must not): the original is as it was."""
