"""Looking up a role that is surely absent needs no huggingface_hub import (~0.5 s at the GUI's start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
import sys
from engine.models.config import ModelsConfig
from engine.models.locate import role_problem
problem = role_problem(ModelsConfig.defaults(), "clip")
print("huggingface_hub" in sys.modules)
print(problem)
"""


def test_a_missing_hub_model_is_reported_without_importing_huggingface_hub(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "False"
    assert "clip" in out[1] and "models download clip" in out[1] and "not in the cache" in out[1]


def test_a_cached_repo_folder_still_goes_through_huggingface_hub(tmp_path, monkeypatch):
    from engine.models.locate import _surely_not_cached

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert _surely_not_cached("org/model")
    (tmp_path / "hf" / "hub" / "models--org--model").mkdir(parents=True)
    assert not _surely_not_cached("org/model")
