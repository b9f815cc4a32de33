"""Writing the user's files: the one writer behind `fix`, `--undo`, `--save-facts` and `report -o`.

A file the user already has is rewritten in place, never replaced: a symlink is followed and its target written,
and the inode stays the same, so owner, group, mode, ACLs, extended attributes, hard links and a container's
single-file bind mount all keep seeing the file. The new bytes first go to a temporary copy beside the target
(fsynced), the space they need is reserved, then they are written over the original under an exclusive lock.
A failed write (read-only or full file system, no permission) leaves the original as it was and raises one
`WriteError` line naming the file. A FIFO, a terminal or /dev/null-like device is written as a stream, never
replaced; any other device, a socket or a folder is refused.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable

from dockdoctor.errors import WriteError

LOCK_WAIT = 5.0  # seconds to wait for another writer's lock before giving up
_STREAM_NAMES = re.compile(r"^/dev/(stdout|stderr|fd/\d+)$|^/proc/(self|\d+)/fd/\d+$")  # this process's own
_TERMINALS = re.compile(r"^/dev/(tty\w*|pts/\d+|console)$")
_SINKS = ("/dev/null", "/dev/zero", "/dev/full")
_KINDS = {
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFIFO: "a FIFO",
}


def _why(err: OSError) -> str:
    return err.strerror or str(err)


def folder_owner(folder: str | os.PathLike[str]) -> tuple[int, int] | None:
    """Under sudo (root) in a folder someone else owns: that (uid, gid), for what dockdoctor creates there."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_uid, st.st_gid) if st.st_uid != 0 else None


def own_folders(path: str | os.PathLike[str], *, mode: int = 0o777) -> None:
    """`mkdir -p` for dockdoctor's own folders (its cache, the undo journals).

    Under sudo, in a folder another user owns (their home, which sudo may keep as HOME), the new folders are that
    user's, like the new files `write_file` makes there: the user's next run without sudo can still write its
    cache and undo its fixes (root-owned folders in the home stopped both).
    """
    path = os.path.abspath(os.fspath(path))
    missing = []
    existing = path
    while not os.path.isdir(existing):
        missing.append(existing)
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    os.makedirs(path, mode=mode, exist_ok=True)
    owner = folder_owner(existing) if missing else None
    if owner is not None:
        for folder in reversed(missing):
            os.lchown(folder, *owner)


def replace_own(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> None:
    """Write one of dockdoctor's own files (its cache, the undo journal): a temporary file renamed over it.

    Readers see the old file or the new one, never a part. Under sudo, in a folder the user owns, the file is the
    user's (so a later run without sudo reads and replaces it). `durable`: fsynced before the rename (the journal).
    Raises OSError; the temporary file is removed.
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    own_folders(folder)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            owner = folder_owner(folder)
            if owner:
                os.fchown(fh.fileno(), *owner)
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def read_regular(path: str, *, limit: int = 64 * 1024 * 1024) -> bytes:
    """The bytes of a regular file; OSError for anything else (a FIFO is never opened for a blocking read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return _read_all(fd, limit)
    finally:
        os.close(fd)


def write_file(path: str, data: bytes, *, expect: bytes | None = None, exclusive: bool = False) -> str:
    """Write `data` to `path` safely; the path actually written (a symlink's target). Raises WriteError.

    `expect`: the bytes the file must still hold when it is locked (else nothing is written);
    `exclusive`: the file must not exist yet (it is created, never overwritten).
    """
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise WriteError(f"{path}: cannot write it ({_why(err)})") from None
    if st is None:
        if expect is not None:
            raise WriteError(f"{path}: it was removed meanwhile: nothing written")
        return _create(path, os.path.realpath(path), data)
    if exclusive:
        raise WriteError(f"{path}: it exists already (it appeared meanwhile): nothing written")
    if _names_own_descriptor(path) and not stat.S_ISBLK(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        return _stream(path, data, st)  # a descriptor the user's shell handed over (`3>x`, /dev/stdout)
    if stat.S_ISREG(st.st_mode):
        target = os.path.realpath(path)
        try:
            same = os.stat(target)
        except OSError:
            same = None
        if same is None or (same.st_dev, same.st_ino) != (st.st_dev, st.st_ino):
            raise WriteError(f"{path}: cannot tell which file it names (it moved meanwhile?): nothing written")
        _rewrite(path, target, data, st, expect)
        return target
    if expect is None and (stat.S_ISFIFO(st.st_mode) or _is_terminal_or_sink(path, st)):
        return _stream(path, data, st)
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
    raise WriteError(f"{path}: is {kind}, not a file dockdoctor may write: nothing written")


def _names_own_descriptor(path: str) -> bool:
    for name in (path, os.path.realpath(path)):
        match = _STREAM_NAMES.match(name)
        if match and match.group(2) in (None, "self", str(os.getpid())):
            return True
    return False


def _is_terminal_or_sink(path: str, st: os.stat_result) -> bool:
    """A terminal, /dev/null, /dev/zero or /dev/full: writing there is harmless; other devices are never opened."""
    if not stat.S_ISCHR(st.st_mode):
        return False
    if _TERMINALS.match(os.path.realpath(path)):
        return True
    for sink in _SINKS:
        try:
            if os.stat(sink).st_rdev == st.st_rdev:
                return True
        except OSError:
            continue
    return False


def _stream(path: str, data: bytes, st: os.stat_result) -> str:
    """Write to a FIFO, a terminal or a sink as `>>` would: opened without creating or truncating anything."""
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK
    if stat.S_ISREG(st.st_mode):
        flags |= os.O_APPEND
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ENXIO:
            raise WriteError(f"{path}: a FIFO that nobody reads: nothing written") from None
        raise WriteError(f"{path}: cannot write it ({_why(err)})") from None
    try:
        os.set_blocking(fd, True)
        _write_all(fd, data)
    except OSError as err:
        raise WriteError(f"{path}: cannot write it ({_why(err)})") from None
    finally:
        os.close(fd)
    return path


def _create(name: str, target: str, data: bytes) -> str:
    """A new file: written and fsynced under a temporary name, then linked into place (never over a file)."""
    folder = os.path.dirname(target) or "."
    try:
        folder_st = os.stat(folder)
    except OSError as err:
        raise WriteError(f"{name}: cannot create it ({_why(err)}: {folder})") from None
    owner = (folder_st.st_uid, folder_st.st_gid) if folder_owner(folder) else None  # under sudo: the user's
    tmp = _temp_copy(name, folder, os.path.basename(target), data, mode=0o666, owner=owner)
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise WriteError(f"{name}: it appeared while dockdoctor was writing it: nothing written") from None
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise WriteError(f"{name}: cannot create it ({_why(err)})") from None
            _create_direct(name, target, data, owner)  # a file system without hard links
    finally:
        _unlink_quietly(tmp)
    _sync_folder(folder)
    return target


def _sync_folder(folder: str) -> None:
    """Make a new name in `folder` durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_direct(name: str, target: str, data: bytes, owner: tuple[int, int] | None) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as err:
        raise WriteError(f"{name}: cannot create it ({_why(err)})") from None
    _fill(fd, target, data, owner, lambda why: f"{name}: cannot write it ({why}): nothing left behind")


def _rewrite(name: str, target: str, data: bytes, st: os.stat_result, expect: bytes | None) -> None:
    """The existing regular file `target`, rewritten in place (same inode), or left exactly as it was."""
    try:
        fd = os.open(target, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise WriteError(f"{name}: cannot write it ({_why(err)})") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
            raise WriteError(f"{name}: it was replaced meanwhile: nothing written")
        _lock(name, fd)
        old = _read_all(fd, None)
        if expect is not None and old != expect:
            raise WriteError(f"{name}: it changed while dockdoctor was writing it: nothing written")
        if old == data:
            return
        tmp = _temp_copy(name, os.path.dirname(target) or ".", os.path.basename(target), data, mode=0o600, owner=None)
        keep = False
        try:
            _overwrite(fd, data, len(old))
        except BaseException as err:  # a full disk, or Ctrl-C between two system calls: the old bytes go back
            try:
                _overwrite(fd, old, len(old))
            except OSError:
                keep = True  # the copy is all that is left of the new content
                why = _why(err) if isinstance(err, OSError) else type(err).__name__
                raise WriteError(
                    f"{name}: writing failed ({why}) and so did putting the old bytes back; the new content is in {tmp}"
                ) from None
            if not isinstance(err, OSError):
                raise
            raise WriteError(f"{name}: cannot write it ({_why(err)}): it is as it was") from None
        finally:
            if not keep:
                _unlink_quietly(tmp)
    except OSError as err:
        raise WriteError(f"{name}: cannot write it ({_why(err)}): it is as it was") from None
    finally:
        os.close(fd)  # also releases the lock


def _overwrite(fd: int, data: bytes, old_size: int) -> None:
    """`data` over the file's bytes: the blocks are reserved first, so a full disk fails before any byte changes."""
    if len(data) > old_size and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, len(data))
        except OSError as err:
            if err.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                os.ftruncate(fd, old_size)  # a partial reservation would leave zeros at the end
                raise
    offset = 0
    while offset < len(data):
        offset += os.pwrite(fd, data[offset:], offset)
    os.ftruncate(fd, len(data))
    os.fsync(fd)


def _lock(name: str, fd: int) -> None:
    """An exclusive advisory lock, so two dockdoctor runs never interleave their writes to one file."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise WriteError(f"{name}: another program holds a lock on it: nothing written") from None
            time.sleep(0.05)
        except OSError as err:
            if err.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP):
                return  # a file system without locks (some network mounts): write unlocked
            raise


def _temp_copy(name: str, folder: str, base: str, data: bytes, *, mode: int, owner: tuple[int, int] | None) -> str:
    """`data` in a new file beside the target, flushed to disk; its path."""
    for attempt in range(100):
        tmp = os.path.join(folder, f".dockdoctor-{base[:80]}-{os.getpid()}-{attempt}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
            break
        except FileExistsError:
            continue
        except OSError as err:
            raise WriteError(
                f"{name}: cannot write it ({_why(err)}: a temporary copy goes beside it first, in "
                f"{folder}): it is as it was"
            ) from None
    else:
        raise WriteError(f"{name}: cannot create a temporary file beside it: it is as it was")
    _fill(fd, tmp, data, owner, lambda why: f"{name}: cannot write it ({why}): it is as it was")
    return tmp


def _fill(fd: int, path: str, data: bytes, owner: tuple[int, int] | None, failure: Callable[[str], str]) -> None:
    """Write `data` into the new file `fd` (at `path`), flush it to disk, give it `owner`, close it; on failure
    the file is removed and WriteError says `failure(reason)`."""
    try:
        _write_all(fd, data)
        os.fsync(fd)
        if owner:
            os.fchown(fd, *owner)
    except OSError as err:
        os.close(fd)
        _unlink_quietly(path)
        raise WriteError(failure(_why(err))) from None
    os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int, limit: int | None) -> bytes:
    chunks: list[bytes] = []
    size = offset = 0
    while True:
        chunk = os.pread(fd, 1024 * 1024, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        offset += len(chunk)
        if limit is not None and size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit // (1024 * 1024)} MiB")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
