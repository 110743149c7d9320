"""Print a pip constraints file pinning each runtime dependency to its declared lower bound.

Usage: python .ci/lowest.py [pyproject.toml] > constraints.txt
CI installs the wheel with these constraints and runs tests, so every lower bound in
pyproject.toml is one that has been installed and tested.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib  # Python 3.11+: the lowest-versions job runs on the default Python

path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
dependencies = tomllib.loads(path.read_text(encoding="utf-8"))["project"]["dependencies"]
for requirement in dependencies:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", requirement)
    if match is None:
        sys.exit(f"{requirement!r}: every runtime dependency needs a '>=' lower bound")
    print(f"{match[1]}=={match[2]}")
