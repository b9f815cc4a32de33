"""The Engine API client's HTTP/1.1 reading (probes/_engine_api.py) against a unix socket that answers as Go's
net/http does: a length or chunks, keep-alive, a connection closed between two requests, and what is not HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockdoctor.probes._engine_api import BadAnswer, UnixAPI, unix_errors

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'4;x=y\r\n{"a"\r\n5\r\n: [1]\r\n1\r\n}\r\n0\r\nTrailer: t\r\n\r\n'
)
LENGTH = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"b": 2}'


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[str, list[list[bytes]], list[int]]]:
    """A socket that reads one request at a time and sends the next scripted answer of its connection; a
    connection's script ends by closing it. Yields (endpoint, scripts, requests seen per connection)."""
    path = str(tmp_path / "engine.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    scripts: list[list[bytes]] = []
    seen: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            script = scripts.pop(0) if scripts else []
            seen.append(0)
            with conn:
                for answer in script:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        more = conn.recv(4096)
                        if not more:
                            return
                        data += more
                    seen[-1] += 1
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}", scripts, seen
    finally:
        server.close()


def test_chunks_lengths_and_kept_alive(engine: tuple[str, list[list[bytes]], list[int]]) -> None:
    endpoint, scripts, seen = engine
    scripts.append([CHUNKED, b"HTTP/1.1 100 Continue\r\n\r\n" + LENGTH, LENGTH])
    api = UnixAPI(endpoint, version="1.41", timeout=5)
    try:
        assert api.get_json("/info", versioned_api=False) == {"a": [1]}
        assert api.get_json("/version", versioned_api=False) == {"b": 2}
        assert api.get_json("/version") == {"b": 2}
    finally:
        api.close()
    assert seen == [3]  # one connection carried the three


def test_a_connection_closed_in_between_is_made_anew(engine: tuple[str, list[list[bytes]], list[int]]) -> None:
    endpoint, scripts, seen = engine
    scripts.extend([[LENGTH], [LENGTH]])  # the first connection closes after one answer
    api = UnixAPI(endpoint, version="1.41", timeout=5)
    try:
        assert api.get_json("/a") == {"b": 2}
        assert api.get_json("/b") == {"b": 2}
    finally:
        api.close()
    assert seen[:2] == [1, 1]


def test_an_answer_to_the_close_and_errors(engine: tuple[str, list[list[bytes]], list[int]]) -> None:
    endpoint, scripts, _ = engine
    scripts.extend(
        [
            [b"HTTP/1.0 404 Not Found\r\n\r\n" + b'{"message": "no such image: x"}'],
            [b"SSH-2.0-OpenSSH_9.6\r\n\r\n"],
            [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"],
        ]
    )
    api = UnixAPI(endpoint, version="1.41", timeout=5)
    try:
        with pytest.raises(unix_errors()) as missing:
            api.inspect_image("x")
        assert str(missing.value) == "404 no such image: x"
        with pytest.raises(BadAnswer, match="not an HTTP/1.1 status line"):
            api.get_json("/version")
        with pytest.raises(BadAnswer, match="ended after 5 of its 50 bytes"):
            api.get_json("/version")
    finally:
        api.close()
    assert issubclass(BadAnswer, unix_errors())


@pytest.mark.parametrize("size", [b"-1", b"+a", b"1_0", b"", b"zz"])
def test_a_chunk_size_that_is_not_hex_digits_is_refused(
    engine: tuple[str, list[list[bytes]], list[int]], size: bytes
) -> None:
    """A negative size would read to the end of the stream, however long a hostile socket keeps sending."""
    endpoint, scripts, _ = engine
    scripts.append([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}\r\n0\r\n\r\n"])
    api = UnixAPI(endpoint, version="1.41", timeout=5)
    try:
        with pytest.raises(BadAnswer, match="not a chunk size"):
            api.get_json("/version")
    finally:
        api.close()


def test_a_length_that_is_not_ascii_digits_reads_to_the_close(
    engine: tuple[str, list[list[bytes]], list[int]],
) -> None:
    endpoint, scripts, _ = engine
    scripts.append([b'HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n{"b": 2}'])  # latin-1 superscript two
    api = UnixAPI(endpoint, version="1.41", timeout=5)
    try:
        assert api.get_json("/version") == {"b": 2}
    finally:
        api.close()
