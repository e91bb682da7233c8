"""The store records each filter mask's scale (original px per mask px), and a store made before that
column existed opens, gains it, and keeps its rows."""

from __future__ import annotations

import sqlite3

import numpy as np

from engine.project.store import ProjectStore


def test_regions_record_their_mask_scale(tmp_path):
    (tmp_path / "shoot").mkdir()
    with ProjectStore.open(tmp_path / "shoot") as store:
        path = store.save_proposal_mask("img", "run", 0, np.ones((768, 1024), bool)[:4, :4])
        region = {"idx": 0, "box": [0, 0, 3, 3], "area": 16, "pred_iou": 1, "stability": 1, "mask_path": path}
        store.save_result(
            "img", "run", status="done", size=(1600, 1200), info={"work_size": [1024, 768]},
            regions=[{**region, "scores": {}}, {**region, "idx": 1, "scores": {}, "mask_scale": 0.5}],
        )  # fmt: skip
        rows = store.region_rows("img", "run")
    assert [row["mask_scale"] for row in rows] == [1600 / 1024, 0.5]


def test_a_store_from_before_the_column_opens_and_keeps_its_rows(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    root = tmp_path / "old-store"
    root.mkdir()
    db = sqlite3.connect(root / "project.db")
    db.executescript(
        """CREATE TABLE regions(image_id TEXT, run_key TEXT, idx INTEGER, box TEXT, area INTEGER,
               pred_iou REAL, stability REAL, mask_path TEXT, scores TEXT,
               PRIMARY KEY(image_id, run_key, idx));
           INSERT INTO regions VALUES('img', 'old', 0, '[0,0,1,1]', 4, 0.9, 0.9, NULL, '{}');"""
    )
    db.commit()
    db.close()
    with ProjectStore.open(folder, root) as store:
        [row] = store.region_rows("img", "old")
        assert row["mask_scale"] is None and row["area"] == 4
        store.save_result("img", "new", status="done", size=(200, 100), info={"work_size": [100, 50]},
                          regions=[{"idx": 0, "box": [0, 0, 1, 1], "area": 4, "pred_iou": 1, "stability": 1,
                                    "scores": {}}])  # fmt: skip
        assert store.region_rows("img", "new")[0]["mask_scale"] == 2.0
    with ProjectStore.open(folder, root) as store:  # opening again adds nothing twice
        assert len(store.region_rows("img", "old")) == 1
