"""The one door for reading a project file: never blocks, never leaves the project folder, never reads too much.

A file is opened with O_NONBLOCK (a FIFO named `Dockerfile` would block a plain open() forever) and read only when
fstat says it is a regular file and not larger than the limit. With a project root, a path whose resolved form is
outside the root is not opened at all (`Dockerfile.shadow -> /etc/shadow`), and the resolved path is opened with
O_NOFOLLOW, so a link swapped in after the check is refused too.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_BYTES = 1 << 20  # a project file larger than 1 MiB is not one we read

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Unread(Exception):
    """A file that was not read; `reason` says why, in words for the report (never the file's content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def inside(path: str, root: str) -> bool:
    """Whether `path` is `root` or below it (both already resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def reason_of(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "symlink loop"
    return err.strerror or str(err)


def _size(size: int) -> str:
    return f"{size // (1 << 20)} MiB" if size >= 1 << 20 else f"{size // 1024} KiB"


def read_bytes(path: str, *, root: str | None = None, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file; raises Unread for a link out of `root`, a FIFO or device, a large or unreadable
    file."""
    target = path
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if root is not None:
        target = os.path.realpath(path)
        if not inside(target, os.path.realpath(root)):
            raise Unread("a link to a file outside the project folder: not followed")
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except OSError as err:
        raise Unread(reason_of(err)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise Unread(f"{kind}, not a regular file")
        if info.st_size > limit:
            raise Unread(f"{_size(info.st_size)}, larger than the {_size(limit)} dockdoctor reads")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as err:
        raise Unread(reason_of(err)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise Unread(f"it grew past the {_size(limit)} dockdoctor reads while being read")
    return data


def read_text(path: str, *, root: str | None = None, limit: int = MAX_BYTES) -> str:
    """read_bytes as text (UTF-8, undecodable bytes replaced)."""
    return read_bytes(path, root=root, limit=limit).decode("utf-8", errors="replace")
