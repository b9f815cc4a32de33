#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian machine, as root: provision the real test environment
# (dockerd, registries, podman, compose v1/v2, qemu, busybox images), start it, run pytest, stop it.
#   sudo bash scripts/test.sh [pytest args...]
# DOCKDOCTOR_KEEP_TESTENV=1 leaves the environment running afterwards (for repeated local runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/testenv/provision.sh >&2

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' >&2

if [ "${DOCKDOCTOR_KEEP_TESTENV:-}" != 1 ]; then
  trap 'bash scripts/testenv/stop.sh >&2 || true' EXIT
fi
eval "$(bash scripts/testenv/start.sh)"
export DOCKDOCTOR_TESTENV

.venv/bin/python -m pytest "$@"
