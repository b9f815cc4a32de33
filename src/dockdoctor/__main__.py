"""`python -m dockdoctor`."""

import sys

from dockdoctor._help import answer

if answer(sys.argv[1:]):  # `--help`, `COMMAND --help`: the kept text, without importing click (_help.py)
    sys.exit(0)
try:
    from dockdoctor.cli import run
except KeyboardInterrupt:  # Ctrl-C while importing: the same exit code as later on (os._exit: see cli._exit)
    import os

    os._exit(130)

run()
