"""Embed ahead: browse order, re-planning (cancellation), yielding to other jobs, the disk cap."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.runtime.embedding_cache import EmbeddingCache
from engine.runtime.jobs import Cancelled, Job, Priority, Succeeded
from engine.segment.prefetch import EMBEDDING_BYTES, EmbedAhead, browse_order, cache_has_room


def test_browse_order_starts_at_the_image_then_ahead_then_behind():
    assert browse_order(6, 2) == [2, 3, 4, 5, 1, 0]
    assert browse_order(3, 0) == [0, 1, 2]
    assert browse_order(3, 9) == [2, 1, 0]  # past the end: the last image
    assert browse_order(0, 0) == []


def test_a_new_plan_supersedes_the_old_one(tmp_path):
    ahead = EmbedAhead()
    items = [(f"id{i}", tmp_path / f"{i}.png") for i in range(4)]
    old = ahead.plan(tmp_path, items, 1)
    assert ahead.take(old) == items[1]
    new = ahead.plan(tmp_path, items, 3)
    assert ahead.take(old) is None  # the old job stops at its next image
    ahead.put_back(old, items[2])  # nor does its interrupted image come back
    assert [ahead.take(new) for _ in range(5)] == [items[3], items[2], items[1], items[0], None]
    ahead.plan(tmp_path, items, 0)
    ahead.cancel()
    assert ahead.pending() == []


def test_cache_room_keeps_a_tenth_of_the_cap_free(tmp_path):
    cache = EmbeddingCache(tmp_path, cap_bytes=EMBEDDING_BYTES * 2)
    assert cache_has_room(cache)
    cache.put("a", "m", {"features": np.zeros(EMBEDDING_BYTES // 4, np.float32)})
    assert not cache_has_room(cache)  # a second one would pass 90% of the cap


@pytest.fixture
def shoot(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return folder, paths


def _cached(engine, folder, image_id) -> bool:
    session = engine._sam_session(folder)
    return engine.store(folder).embeddings.get(image_id, session.model_key) is not None


def test_embeds_in_browse_order_and_yields_to_other_jobs(tiny_engine, shoot):
    folder, paths = shoot
    events: list[str] = []

    def interactive(ctx):
        events.append("interactive")

    def on_ready(image_id, path):
        events.append(path.name)
        if path.name == "img2.png":  # the user clicks while the prefetcher works
            tiny_engine.submit(Job(interactive, priority=Priority.INTERACTIVE))

    items = [(None, p) for p in paths]
    job = tiny_engine.submit(tiny_engine.embed_ahead(folder, items, 2, on_ready))
    job.wait(120)
    tiny_engine.run(Job(lambda ctx: None, priority=Priority.IDLE))  # after the continuation
    # img2 first, then the ones after it; the other job ran before the rest; then the ones before img2
    assert events == ["img2.png", "interactive", "img3.png", "img4.png", "img1.png", "img0.png"]
    store = tiny_engine.store(folder)
    assert all(_cached(tiny_engine, folder, store.register(p)) for p in paths)
    assert tiny_engine.embed_ahead_pending() == []


def test_navigating_replans_and_the_old_plan_stops(tiny_engine, shoot):
    folder, paths = shoot
    seen: list[str] = []
    items = [(None, p) for p in paths]
    gate = Job(lambda ctx: None, priority=Priority.IDLE)
    first = tiny_engine.embed_ahead(folder, items, 0, lambda i, p: seen.append(p.name))
    second = tiny_engine.embed_ahead(folder, items, 3, lambda i, p: seen.append(p.name))
    tiny_engine.submit(first)  # planned before the user moved on
    outcome = tiny_engine.run(second)
    assert outcome == Succeeded(5) and isinstance(first.outcome, Cancelled)  # latest wins
    tiny_engine.run(gate)
    assert seen == ["img3.png", "img4.png", "img2.png", "img1.png", "img0.png"]


def test_stops_below_the_cache_cap(tiny_engine, shoot):
    folder, paths = shoot
    store = tiny_engine.store(folder)
    tiny_engine.run(tiny_engine.embed_ahead(folder, [(None, p) for p in paths[:1]], 0))  # a visited one
    store.embeddings.cap_bytes = store.embeddings.size_bytes() + EMBEDDING_BYTES  # no room below 90%
    outcome = tiny_engine.run(tiny_engine.embed_ahead(folder, [(None, p) for p in paths], 0))
    assert outcome == Succeeded(0)  # the visited image was there already; nothing was evicted for more
    assert _cached(tiny_engine, folder, store.register(paths[0]))
    assert [p.name for _, p in tiny_engine.embed_ahead_pending()] == [f"img{i}.png" for i in range(1, 5)]
