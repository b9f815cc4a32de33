"""`python -m dockdoctor`."""

try:
    from dockdoctor.cli import run
except KeyboardInterrupt:  # Ctrl-C while importing: the same exit code as later on
    raise SystemExit(130) from None

run()
