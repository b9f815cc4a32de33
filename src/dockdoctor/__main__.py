"""`python -m dockdoctor`."""

from dockdoctor.cli import main

raise SystemExit(main())
