#!/usr/bin/env bash
# Stop (idempotently) everything scripts/testenv/start.sh started: podman API
# service, dockerd (+ its containerd and shims), both registries. Leaves no
# processes behind and unmounts anything still mounted under the state dir.
#
# Keeps the state (images, registry storage) under $DIR so the next start is
# warm, and always keeps the download cache ($DOCKDOCTOR_TESTENV_CACHE).
#   stop.sh           stop
#   stop.sh --purge   stop and delete the state dir $DIR as well
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
DIR="$TESTENV_DIR"
PURGE=0
case "${1:-}" in
    "") ;;
    --purge) PURGE=1 ;;
    *) die "usage: stop.sh [--purge]" ;;
esac
case "$DIR" in
    /*) ;;
    *) die "DOCKDOCTOR_TESTENV_DIR must be an absolute path (got '$DIR')" ;;
esac
[ "$DIR" != / ] || die "refusing to use / as the state dir"

if [ -d "$DIR" ]; then
    exec 9>"$DIR/.lock"
    flock -w 300 9 || die "another start.sh/stop.sh holds $DIR/.lock"
    P="$DIR/pids"
    # podman first (its containers use conmon/runc), then dockerd, which stops its
    # containers and its managed containerd; then a private containerd; registries last.
    stop_pid "$P/podman.pid" podman 15
    stop_pid "$P/dockerd.pid" dockerd 45
    stop_pid "$P/containerd.pid" containerd 15
    stop_pid "$P/c8d-dockerd.pid" dockerd 45
    stop_pid "$P/c8d-containerd.pid" containerd 15
    stop_pid "$P/registry.pid" docker-registry 10
    stop_pid "$P/registry-auth.pid" docker-registry 10

    # Anything of ours still alive (e.g. after a crash: managed containerd,
    # containerd-shim, conmon) mentions $DIR on its command line.
    for sig in TERM KILL; do
        leftover="$(daemon_pids_mentioning "$DIR/" | tr '\n' ' ')"
        [ -n "${leftover// /}" ] || break
        log "sending SIG$sig to leftover processes: $leftover"
        # shellcheck disable=SC2086
        kill -"$sig" $leftover 2>/dev/null || true
        for _ in $(seq 1 50); do
            [ -z "$(daemon_pids_mentioning "$DIR/")" ] && break
            sleep 0.1
        done
    done
    leftover="$(daemon_pids_mentioning "$DIR/" | tr '\n' ' ')"
    [ -z "${leftover// /}" ] || die "processes still running after SIGKILL: $leftover"

    # Unmount leftovers (container rootfs, overlay homes, netns) deepest first.
    awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
        m="$(printf '%b' "$m")" # /proc/mounts escapes spaces as \040
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done

    rm -f "$DIR/docker.sock" "$DIR/c8d/docker.sock" "$DIR/podman.sock" "$DIR/env.json" "$DIR/env.sh" \
        "$DIR/docker/dockerd.pid" "$DIR/c8d/docker/dockerd.pid"

    if [ "$PURGE" = 1 ]; then
        if awk -v d="$DIR/" 'index($2, d) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
            die "mounts remain under $DIR; not purging"
        fi
        log "removing state dir $DIR"
        rm -rf --one-file-system "$DIR"
    fi
fi
log "stopped (state dir: $DIR$([ "$PURGE" = 1 ] && echo ' removed'); cache kept: $TESTENV_CACHE)"
