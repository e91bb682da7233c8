"""Two processes on one folder: opening a fresh store at once never fails with "database is locked", and
two `filter` runs split the images (each image is processed once) and both report every image."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.faults.helpers import TINY_SAM_ARGS, small_shoot

ROOT = Path(__file__).resolve().parents[2]

# Each process waits for the go file, so both run at the same time; each image takes a little longer than
# on its own (a sleep in the scoring step), so the two runs overlap on every image.
FILTER = """
import sys, time
from pathlib import Path
from engine.filter.run import ProductFilter
score = ProductFilter._score
def slow_score(self, *args, **kwargs):
    time.sleep(0.4)
    return score(self, *args, **kwargs)
ProductFilter._score = slow_score
from engine.cli.main import main
Path(sys.argv[2]).touch()
while not Path(sys.argv[1]).exists():
    time.sleep(0.02)
sys.exit(main(sys.argv[3:]))
"""

OPEN = """
import sys, time
from pathlib import Path
from engine.project.store import ProjectStore
while not Path(sys.argv[1]).exists():
    time.sleep(0.005)
failures = 0
for folder in sys.argv[2:]:
    try:
        ProjectStore.open(folder).close()
    except Exception as error:
        failures += 1
        print(error)
sys.exit(failures)
"""


def _start(script: str, go: Path, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(go), *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_open_fresh_stores_at_once(tmp_path):
    folders = [tmp_path / f"shoot{i}" for i in range(30)]
    for folder in folders:
        folder.mkdir()
    go = tmp_path / "go"
    processes = [_start(OPEN, go, *folders) for _ in range(3)]
    time.sleep(1.0)  # let the interpreters start (not a timing assertion: only a head start)
    go.touch()
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err


def test_two_filter_processes_split_the_work(tiny_models, tmp_path):
    shoot = small_shoot(tmp_path / "shoot", 8)
    go = tmp_path / "go"
    runs = []
    for name in ("a", "b"):
        report = tmp_path / f"{name}.json"
        args = ["filter", shoot, "--models", tiny_models, "--report", report, *TINY_SAM_ARGS]
        runs.append((_start(FILTER, go, tmp_path / f"{name}.ready", *args), report))
    deadline = time.monotonic() + 240
    while not all((tmp_path / f"{n}.ready").exists() for n in "ab") and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()
    reports = []
    for process, report in runs:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        reports.append(json.loads(report.read_text("utf-8"))["images"])
    verdicts = [{i["path"]: i["verdict"] for i in images} for images in reports]
    assert len(verdicts[0]) == 8 and verdicts[0] == verdicts[1]  # both report every image, the same
    computed = [sum(not i["reused"] for i in images) for images in reports]
    assert sum(computed) == 8, computed  # each image was processed by one run only
    assert min(computed) >= 1, computed  # and both took a share
