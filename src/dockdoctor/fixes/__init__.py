"""Fixes: the plan (pure) and its application (the only side effects besides the probes)."""
