#!/usr/bin/env bash
# The fast gates, no engine and no root (10-15 minutes on 2 cores): lint, format, types, the unit tests.
#   bash scripts/check.sh [--coverage] [pytest args...]
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
# The coverage gate, opt-in (`--coverage`, for the whole unit suite): measured 88.8 % of the package and 99 % of
# fixes/ (issue 16); the floors sit a few points below so that timing-dependent paths never fail it. It measures
# every CLI subprocess too, which makes the unit run about 45 % slower (928 s against 645 s on 2 cores), so .ci/run
# runs the suite without it and the whole CI stays well under 30 minutes.
cov=()
if [ "${1:-}" = "--coverage" ]; then
  shift
  cov=(--cov=dockdoctor --cov-report=term:skip-covered --cov-fail-under=85)
fi
echo "== unit tests (pytest -m 'not engine')" >&2
.venv/bin/python -m pytest -m "not engine" ${cov[@]+"${cov[@]}"} "$@"
if [ ${#cov[@]} -gt 0 ]; then
  echo "== coverage of fixes/ (at least 95 %)" >&2
  .venv/bin/python -m coverage report --include='*/dockdoctor/fixes/*' --fail-under=95
fi
