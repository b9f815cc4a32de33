"""`python -m dockdoctor`."""

from dockdoctor.cli import run

run()
