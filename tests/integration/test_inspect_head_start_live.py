"""`inspect`'s lookups start from the entry point, before click is imported, and the command claims them: the
first connection to the registry is made before `import click`, and no reference is looked up twice."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from clirun import SRC, dockdoctor, isolated_env
from integration.env import access_log_lines, wait_log_quiet

from dockdoctor import __version__

# Imported first by the interpreter (site), so it sees the whole run: the order of `import click` and each
# connection, one line each, written at once (the CLI may end with os._exit).
HOOK = """
import os, sys
_out = os.open(os.environ["HOOK_OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
def _hook(event, args):
    if event == "import" and args and args[0] == "click":
        os.write(_out, b"import click\\n")
    elif event == "socket.connect" and len(args) > 1 and isinstance(args[1], tuple):
        os.write(_out, ("connect %s:%s\\n" % args[1][:2]).encode())
sys.addaudithook(_hook)
"""


def test_the_lookups_start_before_click_and_run_once(testenv: dict, tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK)
    events = tmp_path / "events"
    registry = testenv["registry"]
    found = f"{registry}/busybox:amd64"
    missing = f"{registry}/head-start-{uuid.uuid4().hex[:12]}/app:v1"  # a 404 is never cached: asked each time
    env = isolated_env(
        tmp_path,
        PYTHONPATH=f"{hooks}:{SRC}",
        HOOK_OUT=str(events),
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
        DOCKER_HOST=testenv["docker_host"],
        NO_PROXY="*",
    )
    log = testenv["registry_log"]
    before = wait_log_quiet(log)
    result = dockdoctor("inspect", found, missing, "--json", "--platform", "linux/amd64", env=env)
    after = wait_log_quiet(log)

    assert result.code == 1, result.stderr  # the missing one is a lookup error
    images = {image["reference"]: image for image in json.loads(result.stdout)["facts"]["images"]["remote"]}
    assert images[found]["digest"] == testenv["image_info"]["amd64"]["digest"]
    assert images[missing]["error"]["kind"] == "not-found"
    order = events.read_text().splitlines()
    port = registry.rsplit(":", 1)[1]
    first_connect = next(i for i, line in enumerate(order) if line.endswith(f":{port}"))
    assert "import click" in order, order
    assert first_connect < order.index("import click"), order
    mine = [line for line in access_log_lines(log)[before:after] if f"dockdoctor/{__version__}" in line]
    asked = [line for line in mine if missing.split("/", 1)[1].split(":")[0] in line]
    assert len(asked) == 1, asked  # the entry point's lookup was claimed: not asked again by the command
