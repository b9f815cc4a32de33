"""dockdoctor: a doctor for Docker platform mismatches."""

__version__ = "0.1.0"
