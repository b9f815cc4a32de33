#!/usr/bin/env bash
# The fast gates, in about a minute, no engine and no root: lint, format, types, the unit tests.
#   bash scripts/check.sh [pytest args...]
# Uses .venv (created with the test extra when missing). .ci/run runs this before the engine suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/ruff ] || [ ! -x .venv/bin/mypy ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' >&2
fi

echo "== ruff check" >&2
.venv/bin/ruff check .
echo "== ruff format --check" >&2
.venv/bin/ruff format --check .
echo "== mypy" >&2
.venv/bin/mypy
echo "== unit tests (pytest -m 'not engine')" >&2
.venv/bin/python -m pytest -m "not engine" "$@"
