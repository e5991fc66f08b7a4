"""Print each module's mutation score from mutmut's results in mutants/ (after `make mutate`).

Score = (killed + timed out) / (all mutants - skipped), as mutmut's own badge counts it: a
mutant no unit test runs counts against the module. Exits 1 when a module is below GOAL.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

GOAL = 90.0
CAUGHT = {"killed", "timeout", "caught by type check"}


def score(module: str) -> float:
    """Print the module's score and the mutants that got through; return the score."""
    path = module.replace(".", "/")  # `domain.manifest` is chalicelib/domain/manifest.py
    meta = Path("mutants") / "chalicelib" / f"{path}.py.meta"
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    statuses = {name: status_by_exit_code[code] for name, code in codes.items()}
    counted = {name: status for name, status in statuses.items() if status != "skipped"}
    caught = sum(status in CAUGHT for status in counted.values())
    result = 100.0 * caught / len(counted) if counted else 100.0
    print(f"chalicelib/{path}.py: {result:.1f}% ({caught} of {len(counted)} mutants caught)")
    for name, status in sorted(counted.items()):
        if status not in CAUGHT:
            print(f"    {status}: {name}  (mutmut show {name})")
    return result


def main(modules: list[str]) -> int:
    below = [m for m in modules if score(m) < GOAL]
    if below:
        print(f"below {GOAL:.0f}%: {', '.join(below)}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
