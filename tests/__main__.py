"""`python3 -m tests`: the whole check, in the app's own environment (created on first use).

Runs ruff (lint + format check), the import-linter contracts, then pytest. Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.runtime.bootstrap import ensure_environment  # noqa: E402 (standard library only)


def main() -> int:
    ensure_environment(("test",), ["-m", "tests", *sys.argv[1:]])
    os.chdir(ROOT)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    bin_dir = Path(sys.executable).parent
    steps = [
        ("ruff check", [sys.executable, "-m", "ruff", "check", "."]),
        ("ruff format --check", [sys.executable, "-m", "ruff", "format", "--check", "."]),
        ("import contracts", [str(bin_dir / "lint-imports")]),
        ("pytest", [sys.executable, "-m", "pytest", *sys.argv[1:]]),
    ]
    failed = []
    for name, command in steps:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run(command, env=env, check=False).returncode != 0:
            failed.append(name)
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
