"""The engine's one door, on the tiny models: SAM jobs, the filter and enhancement as job descriptions,
shared stores, model problems and model changes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from engine.api import (
    EnhanceRecipe,
    EnhanceRequest,
    Failed,
    FilterRequest,
    Prompt,
    SamImage,
    SamPrompt,
    Succeeded,
    load_models,
)
from engine.filter.run import FilterRun, FilterSettings
from engine.segment.session import ProposalSettings, SamSession
from tests.fixtures.enhance import box_mask, textured_rgb
from tests.fixtures.filter import CANDIDATE_PROMPTS, one_class, shoot_image


def test_a_store_is_opened_once_per_folder_and_closed_after_the_running_job(tiny_engine, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    store = tiny_engine.store(folder)
    assert tiny_engine.store(folder / ".") is store  # one store per folder, shared by every job
    tiny_engine.close_store(folder)
    tiny_engine.run(tiny_engine.redecide(folder, one_class("a", []), "no-run"))  # after the close
    with pytest.raises(Exception, match="closed"):
        store.images()
    assert tiny_engine.store(folder) is not store  # opened afresh


def test_sam_jobs_embed_once_and_a_prompt_combines_with_the_base_mask(tiny_engine, tiny_registry, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    rgb = textured_rgb(120, 160)
    Image.fromarray(rgb).save(folder / "a.png")
    image = SamImage(folder, "img-1", rgb)
    assert tiny_engine.run(tiny_engine.embed(image)) == Succeeded(False)  # computed, and cached on disk
    assert list(tiny_engine.store(folder).embeddings.folder.rglob("img-1.npz"))

    base = np.zeros((120, 160), np.uint8)
    base[:10, :10] = 255  # what the user had before the prompt
    prompt = Prompt(((80.0, 60.0, True),))
    outcome = tiny_engine.run(tiny_engine.predict(SamPrompt(image, base, prompt, generation=7)))
    result = outcome.value
    assert (result.image_id, result.generation) == ("img-1", 7)
    expected = SamSession(tiny_registry, precision=tiny_engine.precision)  # the engine's: bf16 on some CPUs
    expected.set_image("same pixels", rgb)
    click = expected.predict_click(points=[[80.0, 60.0]], labels=[1])  # the canvas's fast path
    np.testing.assert_array_equal(result.mask, click.paste(base.copy(), 255))
    assert result.score == pytest.approx(click.score)
    masks, _, _ = expected.predict(points=[[80.0, 60.0]], labels=[1])  # the library's predictor agrees
    sam = result.mask[10:, 10:] > 0  # outside the base the user had
    assert (sam & masks[0][10:, 10:]).sum() / (sam | masks[0][10:, 10:]).sum() > 0.98

    cut = Prompt(((80.0, 60.0, False),))  # a session of negative clicks cuts SAM's region out
    full = np.full((120, 160), 255, np.uint8)
    outcome = tiny_engine.run(tiny_engine.predict(SamPrompt(image, full, cut)))
    np.testing.assert_array_equal(outcome.value.mask, click.paste(full.copy(), 0))


def test_the_filter_job_decides_every_image_of_a_folder(tiny_engine, tmp_path):
    folder = tmp_path / "shoot"
    for i in range(2):
        shoot_image(folder / f"{i}.png", color=(200, 60 * i, 20))
    classes = one_class("a photo of a red bag.", CANDIDATE_PROMPTS[4:], threshold=0.0, margin=-1.0)
    proposals = ProposalSettings(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    request = FilterRequest(folder, None, classes, FilterSettings(proposals, min_area_fraction=0))
    run: FilterRun = tiny_engine.run(tiny_engine.filter(request)).value
    assert [r.rel_path for r in run.reports] == ["0.png", "1.png"]
    assert {r.verdict for r in run.reports} == {"product"} and run.failed == {}
    stored = {e.rel_path: e.verdict for e in tiny_engine.store(folder).images()}
    assert stored == {"0.png": "product", "1.png": "product"}


def test_enhance_saves_every_variant_or_none(tiny_engine, tmp_path):
    path = tmp_path / "IMG_1.png"
    Image.fromarray(textured_rgb(96, 120)).save(path)
    recipe = EnhanceRecipe(steps=2, work_size=64, padding=8, seed=3, variants=2, control=False)
    request = EnhanceRequest(path, box_mask(96, 120, (40, 30, 80, 60)), recipe, "hand bag", tmp_path / "out")
    result = tiny_engine.run(tiny_engine.enhance(request)).value
    assert [p.name for p in result.saved] == ["IMG_1_enh_3.png", "IMG_1_enh_4.png"]

    job = tiny_engine.enhance(EnhanceRequest(path, request.mask, recipe, "bag", tmp_path / "cancelled"))
    outcome = tiny_engine.run(job, lambda progress: job.cancel() if progress.done else None)
    assert not isinstance(outcome, Succeeded) and not (tmp_path / "cancelled").exists()


def test_model_problems_name_the_role_without_loading_anything(tiny_engine, tmp_path):
    assert tiny_engine.model_problem("sam") is None
    toml = tmp_path / "models.toml"
    toml.write_text(f'[sam]\npath = "{tmp_path / "nowhere.pth"}"\n')
    tiny_engine.set_models(load_models(toml))
    problem = tiny_engine.model_problem("sam")
    assert "'sam'" in problem and "nowhere.pth" in problem
    # The next model job loads from the new configuration: SAM is missing there.
    folder = tmp_path / "shoot"
    folder.mkdir()
    outcome = tiny_engine.run(tiny_engine.load_sam(folder))
    assert isinstance(outcome, Failed) and outcome.exit_code == 3 and "nowhere.pth" in outcome.message


def test_opening_a_store_never_waits_for_the_registry_to_load(tmp_path, monkeypatch):
    """The UI thread opens stores while the engine thread may be importing torch for the registry."""
    import threading

    from engine.api import Engine, Job, ModelsConfig

    building, release = threading.Event(), threading.Event()

    class SlowRegistry:
        def __init__(self, config, device):
            self.config = config
            building.set()
            assert release.wait(10)

    monkeypatch.setattr("engine.models.registry.ModelRegistry", SlowRegistry)
    engine = Engine(ModelsConfig.defaults())
    try:
        job = engine.submit(Job(lambda ctx: engine.registry))
        assert building.wait(10)  # the engine thread is creating the registry now
        folder = tmp_path / "shoot"
        folder.mkdir()
        assert engine.store(folder).folder == folder.resolve()  # returned without waiting
        assert not job.done
        release.set()
        assert isinstance(job.wait(10).value, SlowRegistry)
    finally:
        release.set()
        engine.shutdown()


def test_refine_edge_job_returns_an_alpha_soft_only_in_the_band(tiny_engine):
    from engine.api import RefinedEdge, RefineEdgeRequest

    rgb = textured_rgb(96, 128)
    mask = np.zeros((96, 128), np.uint8)
    mask[30:70, 40:90] = 255
    outcome = tiny_engine.run(tiny_engine.refine_edge(RefineEdgeRequest(rgb, mask, band=8, image_id="abc")))
    assert isinstance(outcome, Succeeded)
    edge = outcome.value
    assert isinstance(edge, RefinedEdge) and edge.image_id == "abc"
    hard = edge.trimap != 128
    assert set(np.unique(edge.alpha[hard])) == {0.0, 1.0}
    assert ((edge.alpha[~hard] > 0) & (edge.alpha[~hard] < 1)).all()


def test_an_export_preset_with_soft_edges_cuts_out_through_the_matting_alpha(tiny_engine, tmp_path):
    from dataclasses import replace

    from engine.api import ExportRequest
    from engine.export.presets import BUILTIN
    from tests.fixtures.export import make_shoot

    shots = make_shoot(tmp_path / "shoot")
    hard = replace(BUILTIN["transparent PNG cut-out"], trim=False, padding=0)
    alphas = {}
    for name, preset in (("hard", hard), ("soft", replace(hard, soft_edges=6))):
        request = ExportRequest(
            tmp_path / "shoot", tmp_path / name, paths=[shots["rotated"].path], preset=preset
        )
        assert isinstance(tiny_engine.run(tiny_engine.export(request)), Succeeded)
        with Image.open(tmp_path / name / "IMG_0042_cutout.png") as cutout:
            alphas[name] = np.asarray(cutout.getchannel("A"))
    product = shots["rotated"].product
    assert set(np.unique(alphas["hard"])) == {0, 255}
    inner = ndimage.binary_erosion(product, iterations=7)
    outer = ~ndimage.binary_dilation(product, iterations=7)
    soft = alphas["soft"]
    assert (soft[inner] == 255).all() and (soft[outer] == 0).all()  # 0/255 outside the band
    band = ~inner & ~outer
    assert ((soft[band] > 0) & (soft[band] < 255)).any()  # the matte, not the mask, inside it
