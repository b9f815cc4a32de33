"""`python -m dockdoctor`."""

try:
    from dockdoctor.cli import run
except KeyboardInterrupt:  # Ctrl-C while importing: the same exit code as later on (os._exit: see cli._exit)
    import os

    os._exit(130)

run()
