"""`check --all-contexts` for real: contexts for the test dockerd, podman, the containerd-store engine, a dead
socket and an ssh:// context to a local sshd (key auth, BatchMode), created with the docker 28 CLI in an isolated
DOCKER_CONFIG; one tag holds linux/amd64 on the test dockerd and linux/arm64 on podman (DKD230)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import Result, dockdoctor, isolated_env
from test_schema import validator

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
TAG = f"dockdoctor-fleet-test/app:{os.getpid()}"


def _run(*argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    assert proc.returncode == 0 or not check, proc.stderr
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(testenv: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """sshd on a loopback port, key auth only, its sessions pointed at the test dockerd (SetEnv DOCKER_HOST);
    the client side is an ssh config (host key pinned, the key) that a `ssh` first in PATH passes with -F."""
    if not os.path.exists(SSHD):
        if os.environ.get("CI"):
            pytest.fail("sshd missing: scripts/testenv/provision.sh installs openssh-server")
        pytest.skip("sshd missing: run scripts/testenv/provision.sh (openssh-server)")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "id_key"):
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name))
    shutil.copy(d / "id_key.pub", d / "authorized_keys")
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        f"PermitRootLogin prohibit-password\nPidFile {d}/sshd.pid\nStrictModes no\n"
        f"SetEnv DOCKER_HOST={testenv['docker_host']}\n"
    )
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {(d / 'host_key.pub').read_text()}")
    (d / "ssh_config").write_text(
        f"Host *\n  UserKnownHostsFile {d}/known_hosts\n  IdentityFile {d}/id_key\n  IdentitiesOnly yes\n"
    )
    (d / "bin").mkdir()
    wrapper = d / "bin" / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {d}/ssh_config "$@"\n')
    wrapper.chmod(0o755)
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield {"port": port, "bin": str(d / "bin"), "log": d / "sshd.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def fleet(testenv: dict, sshd: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The isolated docker config with the contexts, and the tag that differs between dockerd and podman."""
    tmp = tmp_path_factory.mktemp("fleet")
    env = isolated_env(tmp, DOCKDOCTOR_CACHE_DIR=str(tmp / "cache"), PATH=f"{sshd['bin']}:{os.environ['PATH']}")
    cli = testenv["docker_cli"]
    port = sshd["port"]
    for name, host in (
        ("td", testenv["docker_host"]),
        ("pm", testenv["podman_host"]),
        ("c8d", testenv["docker_host_c8d"]),
        ("dead", f"unix://{tmp}/absent.sock"),
        ("ssh", f"ssh://root@127.0.0.1:{port}"),
        ("ssh-nokey", f"ssh://nosuchuser@127.0.0.1:{port}"),
        ("ssh-unknown-host", f"ssh://root@localhost:{port}"),
    ):  # its key is pinned for 127.0.0.1 only
        _run(cli, "context", "create", name, "--docker", f"host={host}", env=env)
    _run(cli, "context", "use", "td", env=env)
    td, pm = ("-H", testenv["docker_host"]), ("-H", testenv["podman_host"])
    arm64 = testenv["images"]["local_arm64"]
    had_arm64 = _run(cli, *pm, "image", "inspect", arm64, check=False).returncode == 0
    _run(cli, *td, "tag", testenv["images"]["local_amd64"], TAG)
    saved = tmp / "arm64.tar"
    _run(cli, *td, "save", "-o", str(saved), arm64)
    _run(cli, *pm, "load", "-i", str(saved))
    _run(cli, *pm, "tag", arm64, TAG)
    try:
        yield {"env": env, "testenv": testenv, "port": port}
    finally:
        _run(cli, *td, "rmi", TAG, check=False)
        _run(cli, *pm, "rmi", TAG, check=False)
        if not had_arm64:
            _run(cli, *pm, "rmi", f"localhost/{arm64}", check=False)


def _check(fleet: dict, *args: str) -> Result:
    result = dockdoctor("check", "--no-project", "--timeout", "40", *args, env=fleet["env"], timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def document(fleet: dict) -> dict:
    result = _check(fleet, "--all-contexts", "--json")
    data = result.json()
    assert result.code == data["exit_code"]
    return data


def test_the_fleet_document_validates_and_has_a_report_per_engine_that_answers(document: dict) -> None:
    validator("fleet").validate(document)
    assert document["dockdoctor_fleet_version"] == 2 and document["current_context"] == "td"
    reports = {r["facts"]["engine"]["context"]: r for r in document["reports"]}
    assert set(reports) == {"td", "pm", "c8d", "ssh"}, set(reports)
    assert document["reports"][0]["facts"]["engine"]["context"] == "td"  # the current context first
    for report in document["reports"]:
        validator("report").validate(report)
        assert report["facts"]["engine"]["reachable"]
        assert "DKD230" not in report["checks_run"] and "DKD231" not in report["checks_run"]
    assert reports["pm"]["facts"]["engine"]["flavor"] == "podman"
    assert reports["c8d"]["facts"]["engine"]["containerd_snapshotter"] is True
    assert reports["td"]["facts"]["engine"]["server_version"] == reports["ssh"]["facts"]["engine"]["server_version"]
    assert reports["ssh"]["facts"]["engine"]["endpoint"].startswith("ssh://")
    rows = {r["context"]: r for r in document["summary"]}
    assert rows["td"]["current"] and not rows["pm"]["current"]
    assert all(rows[c]["answered"] and rows[c]["platform"] for c in reports)


def test_contexts_that_do_not_answer_are_listed_with_why(document: dict) -> None:
    gone = {u["context"]: u["error"] for u in document["unanswered"]}
    assert gone["dead"]["kind"] == "not-found" and "absent.sock" in gone["dead"]["detail"]
    # ssh in BatchMode: a refused key and an unknown host key are ssh's own words, never a prompt
    assert gone["ssh-nokey"]["kind"] == "ssh" and "Permission denied" in gone["ssh-nokey"]["detail"]
    assert gone["ssh-unknown-host"]["kind"] == "ssh"
    assert "Host key verification failed" in gone["ssh-unknown-host"]["detail"]
    rows = {r["context"]: r for r in document["summary"]}
    assert not rows["dead"]["answered"] and "absent.sock" in rows["dead"]["problem"]


def test_the_same_tag_for_two_platforms_is_a_fleet_finding(document: dict) -> None:
    (finding,) = [f for f in document["findings"] if f["id"] == "DKD230" and TAG in f["subject"]]
    assert "linux/arm64 on context pm" in finding["message"] or "linux/arm64" in finding["message"]
    assert "context pm" in finding["message"] and "context td" in finding["message"]
    assert finding["fixes"][0]["steps"][0]["argv"][:4] == ["docker", "buildx", "build", "--platform"]
    engines = {e["context"]: e for e in document["fleet"]}
    held = {
        c: {i["platform"] for i in e["images"] if any(t.endswith(TAG) for t in i["repo_tags"])}
        for c, e in engines.items()
    }
    assert held["td"] == {"linux/amd64"} and held["pm"] == {"linux/arm64"}


def test_text_has_the_summary_first_then_the_fleet_then_a_section_per_engine(fleet: dict) -> None:
    result = _check(fleet, "--all-contexts")
    out = result.stdout
    assert out.startswith("dockdoctor ") and "fleet of 8 docker context(s)" in out.splitlines()[0]
    table = out.split("\n\n")[1].splitlines()
    assert table[0].split() == ["context", "engine", "platform", "endpoint", "findings"]
    assert table[1].startswith("td *")
    assert any(line.startswith("dead ") and "no answer" in line for line in table)
    assert out.index("Across the fleet:") < out.index("=== context td ===") < out.index("=== context pm ===")
    assert "DKD230 fleet-image-platforms-differ" in out
    assert "=== context dead ===" not in out
    assert out.rstrip().splitlines()[-1].startswith("Fleet: ")


def test_markdown_has_the_table_and_a_section_per_engine(fleet: dict) -> None:
    out = _check(fleet, "--all-contexts", "--format", "markdown").stdout
    assert out.startswith("# dockdoctor fleet\n")
    assert "| context | engine | platform | endpoint | findings |" in out
    assert "## Across the fleet" in out and "## context ssh" in out
    assert "### dockdoctor report" in out  # each engine's report one level down


def test_a_named_dead_context_is_judged(fleet: dict) -> None:
    result = _check(fleet, "--context", "dead", "--context", "pm", "--json")
    data = result.json()
    validator("fleet").validate(data)
    reports = {r["facts"]["engine"]["context"]: r for r in data["reports"]}
    assert set(reports) == {"dead", "pm"} and data["unanswered"] == []
    assert [f["id"] for f in reports["dead"]["findings"] if f["id"] == "DKD201"] == ["DKD201"]
    assert result.code == 1 and data["exit_code"] == 1


def test_an_unknown_context_is_a_one_line_error(fleet: dict) -> None:
    result = _check(fleet, "--context", "nope")
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--context nope" in result.stderr and "td" in result.stderr


def test_single_engine_check_is_unchanged(fleet: dict) -> None:
    data = _check(fleet, "--json").json()
    assert "dockdoctor_report_version" in data and "reports" not in data
    assert data["facts"]["engine"]["context"] == "td" and data["facts"]["fleet"] == []
    assert not any(f["id"] in ("DKD230", "DKD231") for f in data["findings"])


def _certificates(d: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as `dockerd --tlsverify` wants them."""
    ossl = ("openssl",)
    _run(
        *ossl,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=dockdoctor test CA",
        "-keyout",
        str(d / "ca-key.pem"),
        "-out",
        str(d / "ca.pem"),
    )
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        _run(
            *ossl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(d / f"{name}-key.pem"),
            "-out",
            str(d / f"{name}.csr"),
        )
        _run(
            *ossl,
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(d / f"{name}.ext"),
            "-out",
            str(d / f"{name}.pem"),
        )


@pytest.fixture(scope="module")
def tls_endpoint(testenv: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """tcp:// on loopback with mutual TLS, as `dockerd --tlsverify -H tcp://...` serves it: a TLS terminator that
    requires a client certificate from the CA and hands each connection to the test dockerd's socket."""
    import ssl
    import threading

    d = tmp_path_factory.mktemp("tls")
    _certificates(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "server.pem", d / "server-key.pem")
    ctx.load_verify_locations(d / "ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    unix_path = testenv["docker_host"][len("unix://") :]

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                tls = ctx.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()  # no client certificate, or not from our CA
                continue
            engine = socket.socket(socket.AF_UNIX)
            engine.connect(unix_path)
            threading.Thread(target=pump, args=(tls, engine), daemon=True).start()
            threading.Thread(target=pump, args=(engine, tls), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield {"port": port, "dir": d}
    finally:
        listener.close()


def test_tcp_with_the_contexts_tls_material(testenv: dict, tls_endpoint: dict, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    d, host = tls_endpoint["dir"], f"tcp://127.0.0.1:{tls_endpoint['port']}"
    _run(
        testenv["docker_cli"],
        "context",
        "create",
        "tls",
        "--docker",
        f"host={host},ca={d}/ca.pem,cert={d}/client.pem,key={d}/client-key.pem",
        env=env,
    )
    _run(
        testenv["docker_cli"],
        "context",
        "create",
        "tls-no-client-cert",
        "--docker",
        f"host={host},ca={d}/ca.pem",
        env=env,
    )
    result = dockdoctor("check", "--no-project", "--timeout", "40", "--all-contexts", "--json", env=env, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    data = result.json()
    validator("fleet").validate(data)
    reports = [r for r in data["reports"] if r["facts"]["engine"]["context"] == "tls"]
    assert len(reports) == 1, data["unanswered"]
    (report,) = reports
    engine = report["facts"]["engine"]
    assert engine["reachable"] and engine["endpoint"] == host
    assert engine["server_version"] == testenv["versions"]["dockerd"].split()[0]
    gone = {u["context"]: u["error"] for u in data["unanswered"]}
    assert "tls-no-client-cert" in gone, gone  # the server wants a client certificate the context lacks


def test_a_hung_engine_costs_its_own_timeout_and_the_others_still_report(testenv: dict, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    hung = socket.socket(socket.AF_UNIX)
    hung.bind(str(tmp_path / "hung.sock"))
    hung.listen(8)  # takes the connection, never answers
    try:
        _run(testenv["docker_cli"], "context", "create", "td", "--docker", f"host={testenv['docker_host']}", env=env)
        _run(
            testenv["docker_cli"], "context", "create", "hung", "--docker", f"host=unix://{tmp_path}/hung.sock", env=env
        )
        result = dockdoctor(
            "check", "--no-project", "--timeout", "10", "--all-contexts", "--json", env=env, timeout=120
        )
    finally:
        hung.close()
    assert "Traceback" not in result.stderr, result.stderr
    data = result.json()
    assert [r["facts"]["engine"]["context"] for r in data["reports"]] == ["td"]
    assert data["reports"][0]["facts"]["engine"]["reachable"]
    gone = {u["context"]: u["error"] for u in data["unanswered"]}
    assert gone["hung"]["kind"] == "timeout", gone
