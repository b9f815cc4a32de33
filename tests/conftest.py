"""Shared pytest fixtures: paths, the real test environment, and the rule that CI never skips engine tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from integration.env import load_env

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="session")
def testenv() -> dict:
    """The running test environment (scripts/testenv/start.sh); in CI its absence is a failure."""
    env = load_env()
    if env is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI is set but DOCKDOCTOR_TESTENV does not name a running test environment "
                "(run scripts/test.sh, which starts it)"
            )
        pytest.skip("no test environment: run scripts/testenv/start.sh and export DOCKDOCTOR_TESTENV")
    return env


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.engine)
