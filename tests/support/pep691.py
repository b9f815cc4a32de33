"""A PEP 691 package index on loopback for the wheel tests: real file names from tests/data/pypi/releases.json,
answered as JSON, or as HTML, junk or a huge body for the bad-input tests."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

RELEASES = Path(__file__).resolve().parents[1] / "data" / "pypi" / "releases.json"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def page(name: str) -> dict | None:
    """The PEP 691 project page for `name`, from the recorded file names; None for an unknown project."""
    data = json.loads(RELEASES.read_text())
    if name not in data or name.startswith("_"):
        return None
    return {
        "meta": {"api-version": "1.1"},
        "name": name,
        "files": [{"filename": f, "url": f"../../files/{f}", "hashes": {}} for f in data[name]["files"]],
    }


@contextlib.contextmanager
def pep691_index(mode: str = "json") -> Iterator[tuple[str, list[str]]]:
    """An index at http://127.0.0.1:PORT/simple/; yields its URL and the request lines (with Accept) it got.

    mode: "json" (PEP 691), "html" (a PEP 503-only index), "junk" (JSON type, not JSON), "huge" (an endless body).
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            auth = self.headers.get("Authorization", "")
            seen.append(f"{self.path} accept={self.headers.get('Accept', '')}" + (f" auth={auth}" if auth else ""))
            name = self.path.removeprefix("/simple/").strip("/")
            doc = page(name)
            if doc is None:
                self._send(404, "text/plain", b"not found")
            elif mode == "html":
                self._send(
                    200,
                    "text/html",
                    b"<!DOCTYPE html><html><body>"
                    + "".join(f'<a href="{f["url"]}">{f["filename"]}</a>' for f in doc["files"]).encode()
                    + b"</body></html>",
                )
            elif mode == "junk":
                self._send(200, JSON_TYPE, b'{"files": [\x00 junk')
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Type", JSON_TYPE)
                self.end_headers()
                chunk = b" " * 65536
                try:
                    for _ in range(20 * 16):  # 20 MB of blanks: more than the probe reads
                        self.wfile.write(chunk)
                except OSError:
                    pass
            else:
                self._send(200, JSON_TYPE, json.dumps(doc).encode())

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
