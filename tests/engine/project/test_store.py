"""The project store: where it lives, image identity, verdicts, masks, flags, recipes, the embedding cache."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest
from PIL import Image

from engine.project.store import STORE_DIRNAME, ProjectStore
from engine.runtime.embedding_cache import EmbeddingCache


def _image(path, color=(200, 10, 10), size=(32, 24)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def test_store_lives_in_the_folder_and_reopens(tmp_path):
    _image(tmp_path / "a.png")
    with ProjectStore.open(tmp_path) as store:
        image_id = store.register(tmp_path / "a.png")
        store.set_flag(image_id, "pick")
        assert store.in_folder
    assert (tmp_path / STORE_DIRNAME / "project.db").is_file()
    with ProjectStore.open(tmp_path) as store:
        [entry] = store.images()
        assert (entry.rel_path, entry.image_id, entry.flag) == ("a.png", image_id, "pick")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_uses_user_data_dir(tmp_path):
    folder = tmp_path / "card"
    _image(folder / "a.png")
    folder.chmod(0o555)
    try:
        with ProjectStore.open(folder) as store:
            assert not store.in_folder
            assert "xdg-data" in str(store.root)
            store.register(folder / "a.png")
        assert not (folder / STORE_DIRNAME).exists()
    finally:
        folder.chmod(0o755)


def test_content_hash_follows_content_not_name(tmp_path):
    a = _image(tmp_path / "a.png")
    b = _image(tmp_path / "sub dir" / "b ü.png")
    c = _image(tmp_path / "c.png", color=(0, 0, 255))
    with ProjectStore.open(tmp_path) as store:
        assert store.register(a) == store.register(b) != store.register(c)
        old = store.register(c)
        _image(c, color=(0, 255, 0))
        os.utime(c, ns=(1, 1))  # a changed file is re-hashed even with an odd mtime
        assert store.register(c) != old
        assert [e.rel_path for e in store.images()] == ["a.png", "c.png", "sub dir/b ü.png"]


def test_edited_mask_is_kept_apart_from_proposals_and_lossless(tmp_path):
    _image(tmp_path / "a.png")
    rng = np.random.default_rng(0)
    with ProjectStore.open(tmp_path) as store:
        image_id = store.register(tmp_path / "a.png")
        proposal = np.zeros((24, 32), bool)
        proposal[2:10, 3:20] = True
        rel = store.save_proposal_mask(image_id, "run1", 0, proposal)
        store.save_result(
            image_id,
            "run1",
            status="done",
            size=(32, 24),
            regions=[
                dict(
                    idx=0,
                    box=[3, 2, 19, 9],
                    area=136,
                    pred_iou=0.9,
                    stability=0.95,
                    mask_path=rel,
                    scores={"shoe": 0.7},
                )
            ],
        )
        store.set_verdict(image_id, "run1", "product", classes={"shoe": 1}, regions=[0])
        assert np.array_equal(store.mask_for_review(image_id, (32, 24)), proposal)
        edited = rng.random((24, 32)) > 0.5
        store.save_edited_mask(image_id, edited)
        # A re-run rewrites the proposal; the user's mask stays.
        store.save_result(image_id, "run1", status="done", size=(32, 24), regions=[])
        assert np.array_equal(store.edited_mask(image_id), edited)
        assert np.array_equal(store.mask_for_review(image_id, (32, 24)), edited)
        assert store.entry(image_id).has_edited_mask
        store.delete_edited_mask(image_id)
        assert store.edited_mask(image_id) is None
    png = Image.open(tmp_path / STORE_DIRNAME / rel)
    assert png.mode == "L" and png.format == "PNG"


def test_an_edited_mask_keeps_its_soft_edges(tmp_path):
    """A feathered edit comes back with the same 8-bit values; other readers see it hard at 128."""
    _image(tmp_path / "a.png")
    soft = np.tile(np.linspace(0, 255, 32).round().astype(np.uint8), (24, 1))
    with ProjectStore.open(tmp_path) as store:
        image_id = store.register(tmp_path / "a.png")
        store.save_edited_mask(image_id, soft)
        assert np.array_equal(store.edited_mask_values(image_id), soft)
        assert np.array_equal(store.edited_mask(image_id), soft >= 128)


def test_flags_and_recipes(tmp_path):
    _image(tmp_path / "a.png")
    with ProjectStore.open(tmp_path) as store:
        image_id = store.register(tmp_path / "a.png")
        assert store.flag(image_id) is None
        store.set_flag(image_id, "reject")
        assert store.flag(image_id) == "reject"
        store.set_flag(image_id, None)
        assert store.flag(image_id) is None
        with pytest.raises(ValueError):
            store.set_flag(image_id, "maybe")
        store.save_recipe(image_id, "enhance", {"strength": 0.4})
        store.save_recipe(image_id, "enhance", {"strength": 0.6})
        assert [r["strength"] for r in store.recipes(image_id, "enhance")] == [0.6, 0.4]


def test_committed_results_survive_a_crash(tmp_path):
    _image(tmp_path / "a.png")
    store = ProjectStore.open(tmp_path)
    image_id = store.register(tmp_path / "a.png")
    store.set_verdict(image_id, "run1", "skipped")
    # No close(): another connection (a new process after a crash) sees the committed row.
    other = sqlite3.connect(tmp_path / STORE_DIRNAME / "project.db")
    assert other.execute("SELECT verdict FROM verdicts").fetchall() == [("skipped",)]
    other.close()


def test_embedding_cache_round_trips_and_respects_its_cap(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache", cap_bytes=3 * 40_000)
    arrays = {"features": np.ones((10, 1000), np.float32), "input_size": np.array([1024, 768])}
    cache.put("a", "m", arrays)
    got = cache.get("a", "m")
    assert np.array_equal(got["features"], arrays["features"]) and list(got["input_size"]) == [1024, 768]
    for name in "bcde":
        cache.put(name, "m", arrays)
    assert cache.size_bytes() <= 3 * 40_000
    assert cache.get("e", "m") is not None and cache.get("b", "m") is None
    cache.path("e", "m").write_bytes(b"garbage")
    assert cache.get("e", "m") is None  # a damaged entry is dropped, not fatal


def test_unwritable_folder_falls_back_even_as_root(tmp_path, monkeypatch):
    # Root ignores permission bits, so simulate what a read-only card or share does to the probe.
    import engine.project.location as location_module

    real = location_module._writable_dir
    monkeypatch.setattr(location_module, "_writable_dir", lambda p: p.name != STORE_DIRNAME and real(p))
    _image(tmp_path / "card" / "a.png")
    with ProjectStore.open(tmp_path / "card") as store:
        assert not store.in_folder and "xdg-data" in str(store.root)
        assert store.register(tmp_path / "card" / "a.png")


def test_a_rerun_of_an_image_sweeps_the_masks_a_killed_run_left_half_written(tmp_path):
    import subprocess
    import sys

    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    with ProjectStore.open(tmp_path) as store:
        folder = store.root / "masks" / "img-1"
        folder.mkdir(parents=True)
        leftover = folder / f".run-000.png.{dead}-x1y2z3.tmp"
        leftover.write_bytes(b"half a PNG")
        store.save_proposal_mask("img-1", "run", 0, np.ones((4, 4), bool))
        assert not leftover.exists()
        assert [p.name for p in folder.iterdir()] == ["run-000.png"]
