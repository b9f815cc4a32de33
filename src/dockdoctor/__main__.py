"""`python -m dockdoctor`: the same entry point as the console script (dockdoctor._entry)."""

import sys

from dockdoctor._entry import main

sys.exit(main())
