"""How many real emulation cases (tests/data/emulation-cases) does `dockdoctor check` name the cause of?

    PYTHONPATH=src python bench/emulation_cases.py [--src DIR] [--v1]

Runs `check --json --from CASE --platform ...` as a user would, one subprocess per case, with PYTHONPATH=--src
(default: this tree's src); `--v1` writes the facts as schema 1, for a dockdoctor from before schema 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.emulation_cases import cases, facts_data, named  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", default=str(ROOT / "src"))
    parser.add_argument("--v1", action="store_true")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_"))}
    env.update(PYTHONPATH=args.src, NO_COLOR="1")
    hits = 0
    all_cases = cases()
    with tempfile.TemporaryDirectory() as tmp:
        for case in all_cases:
            path = Path(tmp) / f"{case.id}.json"
            path.write_text(json.dumps(facts_data(case, schema_version=1 if args.v1 else None)))
            argv = [sys.executable, "-m", "dockdoctor", "check", "--json", "--from", str(path)]
            argv += [a for t in case.targets for a in ("--platform", t)]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
            try:
                report = json.loads(done.stdout)
            except ValueError:
                report = {}
            ok = named(case, report)
            hits += ok
            ids = sorted({f["id"] for f in report.get("findings", ())})
            print(f"{'named ' if ok else 'missed'} {case.id:55} expect {case.expect or '-':7} found {','.join(ids)}")
    print(f"\n{hits} of {len(all_cases)} cases named")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
