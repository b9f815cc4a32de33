"""ssh:// engines through the system ssh client: `ssh ... -- HOST docker system dial-stdio`, never a prompt.

This is docker-py's own shell-out transport (`APIClient(use_ssh_client=True)`, docker/transport/sshconn.py), kept
to its system-ssh half: docker-py's module imports paramiko even when it shells out, and paramiko is no dependency
of ours. Three things differ, so that a doctor never waits on a question nobody sees:

- `-o BatchMode=yes` (no password, passphrase or host-key question) and `-o ConnectTimeout=N` from the client's
  timeout; the user's ssh config (Host aliases, keys, ProxyJump) applies as it does for the docker CLI;
- ssh runs in its own session: no controlling terminal to prompt on, and the user's Ctrl-C reaches only us;
- its stderr goes to a file, not the terminal, and becomes the probe error (`Permission denied (publickey)`).

Every ssh process still running when dockdoctor exits (a remote that stopped answering) is terminated then.
"""

from __future__ import annotations

import atexit
import math
import os
import queue
import socket
import subprocess
import tempfile
import threading
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool

if TYPE_CHECKING:
    from typing_extensions import Buffer

_lock = threading.Lock()
_live: set[subprocess.Popen[bytes]] = set()
_last: dict[str, SSHSocket] = {}  # netloc -> the last socket opened to it, for the error message


@atexit.register
def _end_all() -> None:
    with _lock:
        procs = list(_live)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def argv(netloc: str, *, timeout: float | None) -> list[str]:
    """The ssh command line for `user@host:port` (as docker-py builds it, plus BatchMode and ConnectTimeout)."""
    parsed = urlparse(f"ssh://{netloc}")
    wait = max(1, math.ceil(timeout)) if timeout else 10
    args = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={wait}"]
    if parsed.username:
        args += ["-l", parsed.username]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    return args + ["--", parsed.hostname or "", "docker system dial-stdio"]


class _Reader:
    """One response's view of ssh's stdout: closing it (http.client does, per response) keeps the pipe open for
    the next request on the same connection (docker-py instead starts a new ssh process per request)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def flush(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)


class SSHSocket(socket.socket):
    """A socket-like pipe pair to `docker system dial-stdio` on the remote host."""

    def __init__(self, netloc: str) -> None:
        super().__init__(socket.AF_INET, socket.SOCK_STREAM)
        self.netloc = netloc
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_file: IO[bytes] | None = None

    def connect(self, *args: Any, **kwargs: Any) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "SSL_CERT_FILE")}
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            argv(self.netloc, timeout=self.gettimeout()),
            env=env,
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
            stderr=self.stderr_file,
            start_new_session=True,
        )
        with _lock:
            _live.add(self.proc)
            _last[self.netloc] = self

    def _write(self, data: Buffer) -> int:
        if self.proc is None or self.proc.stdin is None or self.proc.stdin.closed:
            raise OSError("ssh: the connection is not open")
        written = self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return written

    def sendall(self, data: Buffer, *args: Any) -> None:
        self._write(data)

    def send(self, data: Buffer, *args: Any) -> int:
        return self._write(data)

    def recv(self, n: int, *args: Any) -> bytes:
        if self.proc is None or self.proc.stdout is None:
            raise OSError("ssh: the connection is not open")
        return self.proc.stdout.read(n)

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        if self.proc is None:
            self.connect()
        assert self.proc is not None and self.proc.stdout is not None
        return _Reader(self.proc.stdout)

    def close(self) -> None:
        proc = self.proc
        if proc is not None and proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.write(b"\n\n")
                proc.stdin.flush()
            except OSError:
                pass
            proc.terminate()
        super().close()

    def failure(self) -> str:
        """What ssh printed on stderr, on one line, once it has ended ("" while it still runs)."""
        if self.proc is None or self.stderr_file is None:
            return ""
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return ""
        self.stderr_file.seek(0)
        text = self.stderr_file.read(4096).decode("utf-8", "replace")
        return " ".join(line.strip() for line in text.splitlines() if line.strip())


def failure(endpoint: str) -> str:
    """ssh's own words about the last connection to an ssh:// endpoint ("" when it said nothing)."""
    parsed = urlparse(endpoint)
    with _lock:
        sock = _last.get(parsed.netloc)
    said = sock.failure() if sock is not None else ""
    # `user@host: Permission denied`: the user name stays where redaction can find it (the endpoint), not here
    return said.replace(f"{parsed.username}@", "") if parsed.username else said


class _Connection(urllib3.connection.HTTPConnection):
    def __init__(self, netloc: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.netloc = netloc

    def connect(self) -> None:
        sock = SSHSocket(self.netloc)
        sock.settimeout(self.timeout)
        sock.connect()
        self.sock = sock


class _Pool(urllib3.connectionpool.HTTPConnectionPool):
    scheme = "ssh"

    def __init__(self, netloc: str, timeout: float, maxsize: int) -> None:
        super().__init__("localhost", timeout=timeout, maxsize=maxsize)
        self.netloc = netloc

    def _new_conn(self) -> _Connection:
        return _Connection(self.netloc, self.timeout)  # type: ignore[arg-type]

    def _get_conn(self, timeout: float | None = None) -> Any:
        # as docker-py: a pooled connection is reused as it is (urllib3's fileno() check does not fit a pipe)
        conn = None
        try:
            conn = self.pool.get(block=self.block, timeout=timeout)  # type: ignore[union-attr]
        except AttributeError as err:
            raise urllib3.exceptions.ClosedPoolError(self, "Pool is closed.") from err
        except queue.Empty:
            pass
        return conn or self._new_conn()


class SSHAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter for `http+docker://ssh`: one pool of ssh connections to one endpoint."""

    def __init__(self, endpoint: str, *, timeout: float, max_pool_size: int = 4) -> None:
        self._netloc = urlparse(endpoint).netloc
        self._pool = _Pool(self._netloc, timeout, max_pool_size)
        super().__init__()

    def get_connection(self, url: Any, proxies: Any = None) -> _Pool:
        return self._pool

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
    ) -> _Pool:  # requests 2.32.2+
        return self._pool

    def close(self) -> None:
        """Kept open: the run's other probes of this endpoint reuse its ssh connections (ended at exit)."""


_adapters: dict[str, SSHAdapter] = {}


def client(endpoint: str, *, version: str, timeout: float) -> Any:
    """A docker APIClient that talks to an ssh:// endpoint through SSHAdapter (as docker-py mounts its own).

    Every client of one endpoint shares one adapter: an ssh login and the remote `docker system dial-stdio`
    start cost about a second, so the engine, images and fleet probes reuse the connections the first opened.
    """
    import docker

    with _lock:
        adapter = _adapters.get(endpoint) or _adapters.setdefault(endpoint, SSHAdapter(endpoint, timeout=timeout))
    api = docker.APIClient(base_url="tcp://localhost:2375", version=version, timeout=timeout)  # then remounted
    api.mount("http+docker://ssh", adapter)
    api._unmount("http://", "https://")
    api.base_url = "http+docker://ssh"
    return api
