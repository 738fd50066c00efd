"""`python -m tests.golden record [NAME…]`: rewrite the golden transcripts from the current behaviour.

It runs the golden test on the web chat over SQLite with BAB_GOLDEN_RECORD=1, which writes each transcript's
replies instead of comparing them. Names (file stems, e.g. access_request_fr) limit it to those transcripts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "record":
        print(__doc__.strip(), file=sys.stderr)
        return 2
    names = argv[1:]
    selector = "web-sqlite" + (" and (" + " or ".join(names) + ")" if names else "")
    here = Path(__file__).parent
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(here / "test_golden.py"),
                             "-k", selector], env={**os.environ, "BAB_GOLDEN_RECORD": "1"}, check=False)
    if result.returncode == 0:
        print("Recorded. Review the changes with: git diff tests/golden/transcripts")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
