"""Enhancement on tiny models (2 steps, 64 px work size): the scene stays untouched, the depth hint is the
crop's, seeds reproduce, cancel writes nothing, outputs carry their parameters, odd formats come out right."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from engine.diffusion.enhance import enhance, load_mask, save_variant
from engine.diffusion.recipes import EnhanceError, EnhanceRecipe
from engine.diffusion.region import MaskError, Region, masked_region
from engine.imaging.outputs import parse_parameters
from engine.runtime.jobs import Cancelled, Job, Succeeded
from engine.runtime.worker import EngineWorker
from tests.fixtures.enhance import box_mask, textured_rgb

TINY = {"steps": 2, "work_size": 64, "padding": 8, "mask_blur": 3, "seed": 11}


def outside_feather(mask: np.ndarray, recipe: EnhanceRecipe, region: Region) -> np.ndarray:
    """Bool HxW: pixels where the feathered mask is exactly 0 (computed independently of the engine:
    everything outside the region, and inside it farther than 4 blur radii from the mask)."""
    from scipy import ndimage

    far = ndimage.distance_transform_edt(mask == 0) > 4 * recipe.mask_blur + 1
    outside = np.ones_like(far)
    outside[region.slices] = far[region.slices]
    return outside


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "shoot_0001.png"
    Image.fromarray(textured_rgb(120, 160)).save(path)
    return path, box_mask(120, 160, (60, 40, 90, 70))


def test_pixels_outside_the_feathered_mask_are_bit_identical(photo, tiny_registry, tmp_path):
    path, mask = photo
    recipe = EnhanceRecipe(**TINY, variants=2)
    result = enhance(path, mask, recipe, tiny_registry, class_name="shoe")
    original = np.asarray(Image.open(path))
    outside = outside_feather(mask, recipe, result.region)
    assert result.region.width % 8 == 0 and result.region.height % 8 == 0
    assert [v.seed for v in result.variants] == [11, 12]
    for variant in result.variants:
        written = save_variant(result, variant, tmp_path / "out")
        assert written.name == f"shoot_0001_enh_{variant.seed}.png"
        out = np.asarray(Image.open(written))
        assert out.shape == original.shape and out.dtype == original.dtype
        assert np.array_equal(out[outside], original[outside])
        changed = (out != original).any(axis=2)
        assert changed[mask > 0].mean() > 0.9  # the product itself was repainted
    assert not np.array_equal(result.variants[0].patch, result.variants[1].patch)


def test_whole_image_mode_also_keeps_the_scene(photo, tiny_registry):
    path, mask = photo
    recipe = EnhanceRecipe(**{**TINY, "mode": "whole"})
    result = enhance(path, mask, recipe, tiny_registry)
    assert result.region == Region(0, 0, 160, 120) and result.work_size == (64, 48)
    original = np.asarray(Image.open(path))
    out = result.full_pixels(result.variants[0])
    outside = outside_feather(mask, recipe, result.region)
    assert np.array_equal(out[outside], original[outside])
    assert (out != original).any(axis=2)[mask > 0].mean() > 0.9


def test_the_depth_map_fed_to_controlnet_is_the_cropped_regions(photo, tiny_registry, monkeypatch):
    path, mask = photo
    seen_by_depth, seen_by_pipe = [], []
    depth = tiny_registry.depth()
    monkeypatch.setattr(
        tiny_registry, "depth", lambda: lambda image: seen_by_depth.append(image.copy()) or depth(image)
    )
    pipe = tiny_registry.inpaint_pipeline(control=True)
    original_call = type(pipe).__call__

    def spy(self, **kwargs):
        seen_by_pipe.append(kwargs)
        return original_call(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    result = enhance(path, mask, EnhanceRecipe(**TINY), tiny_registry)

    crop = np.asarray(Image.open(path))[result.region.slices]
    expected_input = Image.fromarray(crop).resize((64, 64), Image.Resampling.LANCZOS)
    assert len(seen_by_depth) == 1
    assert np.array_equal(np.asarray(seen_by_depth[0]), np.asarray(expected_input))
    assert np.array_equal(np.asarray(seen_by_pipe[0]["image"]), np.asarray(expected_input))
    control = np.asarray(seen_by_pipe[0]["control_image"])
    assert np.array_equal(control, np.asarray(depth(expected_input)))
    # ...and it is not the depth of the whole image squeezed into the work size.
    whole = np.asarray(depth(Image.open(path).convert("RGB").resize((64, 64))))
    assert not np.array_equal(control, whole)


def test_same_seed_same_image_other_seed_other_image(photo, tiny_registry):
    path, mask = photo
    first = enhance(path, mask, EnhanceRecipe(**TINY), tiny_registry).variants[0]
    again = enhance(path, mask, EnhanceRecipe(**TINY), tiny_registry).variants[0]
    other = enhance(path, mask, EnhanceRecipe(**{**TINY, "seed": 12}), tiny_registry).variants[0]
    assert np.array_equal(first.patch, again.patch)
    assert not np.array_equal(first.patch, other.patch)
    # Variant k of a batch is the same image as a single run with seed + k.
    batch = enhance(path, mask, EnhanceRecipe(**{**TINY, "variants": 2}), tiny_registry).variants
    assert np.array_equal(batch[1].patch, other.patch)


def test_cancel_mid_run_writes_nothing(photo, tiny_registry, tmp_path):
    path, mask = photo
    out = tmp_path / "out"
    recipe = EnhanceRecipe(**{**TINY, "steps": 6, "strength": 1.0, "variants": 3})
    tiny_registry.inpaint_pipeline(control=True)  # loaded before, so the cancel lands mid-denoising
    reached_step = threading.Event()
    steps_seen = []

    def run(ctx):
        result = enhance(path, mask, recipe, tiny_registry, ctx)
        return [save_variant(result, variant, out) for variant in result.variants]

    job = Job(run, name="enhance")

    def on_progress(progress):
        if progress.total:
            steps_seen.append(progress.done)
            job.cancel("user")  # cancel at the first step
            reached_step.set()

    job.add_progress_callback(on_progress)
    worker = EngineWorker()
    try:
        outcome = worker.submit(job).wait(60)
    finally:
        worker.shutdown()
    assert reached_step.is_set()
    assert isinstance(outcome, Cancelled)
    assert max(steps_seen) < 6 * 3  # it stopped before finishing the variants
    assert not out.exists() or not any(out.iterdir())


def test_the_parameters_chunk_is_present_and_parseable(photo, tiny_registry, tmp_path):
    path, mask = photo
    recipe = EnhanceRecipe(**TINY, prompt="ppzocketv2, {class}, studio", negative_prompt="blurry, text")
    result = enhance(path, mask, recipe, tiny_registry, class_name="hand bag")
    written = save_variant(result, result.variants[0], tmp_path)
    text = Image.open(written).info["parameters"]
    fields = parse_parameters(text)
    assert fields["Prompt"] == "ppzocketv2, hand bag, studio"
    assert fields["Negative prompt"] == "blurry, text"
    assert fields["Steps"] == "2" and fields["Seed"] == "11" and fields["Sampler"] == "Euler a"
    assert fields["CFG scale"] == "7.5" and fields["Size"] == "64x64"
    assert fields["Model"] == "sd15-inpainting-tiny"
    assert "controlnet-depth-tiny" in fields["ControlNet 0"]
    assert fields["Inpaint area"] == "Only masked"


def test_an_exif_rotated_jpeg_comes_out_upright_and_untouched_outside(tmp_path, tiny_registry):
    stored = textured_rgb(120, 160, seed=3)  # as stored: landscape 160×120
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": upright it is portrait 120×160
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    upright = np.asarray(Image.open(path).transpose(Image.Transpose.ROTATE_270))
    assert upright.shape == (160, 120, 3)
    mask = box_mask(160, 120, (40, 90, 80, 130))  # masks are drawn on the upright image
    recipe = EnhanceRecipe(**TINY)
    result = enhance(path, mask, recipe, tiny_registry)
    out = np.asarray(Image.open(save_variant(result, result.variants[0], tmp_path / "out")))
    assert out.shape == upright.shape
    outside = outside_feather(mask, recipe, result.region)
    assert np.array_equal(out[outside], upright[outside])


@pytest.mark.parametrize("channels", [3, 1])
def test_a_16bit_png_keeps_its_depth_and_every_outside_value(tmp_path, tiny_registry, channels):
    import cv2

    rng = np.random.default_rng(5)
    values = rng.integers(0, 65536, (96, 128, channels), dtype=np.uint16)
    path = tmp_path / f"deep{channels}.png"
    cv2.imwrite(str(path), values if channels == 3 else values[..., 0])
    original = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    mask = box_mask(96, 128, (50, 30, 80, 60))
    recipe = EnhanceRecipe(**TINY)
    result = enhance(path, mask, recipe, tiny_registry)
    written = save_variant(result, result.variants[0], tmp_path / "out")
    out = cv2.imread(str(written), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == original.shape
    outside = outside_feather(mask, recipe, result.region)
    assert np.array_equal(out[outside], original[outside])
    assert (out != original)[mask > 0].mean() > 0.9
    assert parse_parameters(Image.open(written).info["parameters"])["Seed"] == "11"


def test_the_icc_profile_and_alpha_are_kept(tmp_path, tiny_registry):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    rgba = np.dstack([textured_rgb(80, 96), np.full((80, 96), 200, np.uint8)])
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path, icc_profile=icc)
    result = enhance(path, box_mask(80, 96, (40, 30, 60, 50)), EnhanceRecipe(**TINY), tiny_registry)
    written = Image.open(save_variant(result, result.variants[0], tmp_path / "out"))
    assert written.mode == "RGBA" and written.info.get("icc_profile") == icc
    assert (np.asarray(written)[..., 3] == 200).all()


def test_crop_region_is_padded_square_multiple_of_8_and_inside_the_image():
    mask = np.zeros((4000, 6000), bool)
    mask[1800:2100, 2900:3300] = True
    region = masked_region(mask, (512, 512), 32)
    assert region.left <= 2900 - 32 and region.right >= 3300 + 32
    assert region.top <= 1800 - 32 and region.bottom >= 2100 + 32
    assert region.width == region.height and region.width % 8 == 0
    edge = np.zeros((100, 100), bool)
    edge[0:10, 90:100] = True
    region = masked_region(edge, (64, 64), 4)
    assert region.left >= 0 and region.right <= 100 and region.top == 0 and region.bottom <= 100
    assert region.width % 8 == 0 and region.height % 8 == 0


def test_bad_masks_and_settings_get_clear_messages(photo, tiny_registry, tmp_path):
    path, mask = photo
    with pytest.raises(MaskError, match="empty"):
        enhance(path, np.zeros_like(mask), EnhanceRecipe(**TINY), tiny_registry)
    with pytest.raises(MaskError, match="160×120"):
        enhance(path, mask[:100], EnhanceRecipe(**TINY), tiny_registry)
    with pytest.raises(EnhanceError, match="strength"):
        enhance(path, mask, EnhanceRecipe(**{**TINY, "strength": 0}), tiny_registry)
    mask_path = tmp_path / "m.png"
    Image.fromarray(mask).convert("RGBA").save(mask_path)  # opaque: the brightness is the mask
    assert np.array_equal(load_mask(mask_path), mask)
    cutout = np.zeros((*mask.shape, 4), np.uint8)
    cutout[..., 3] = mask  # a cut-out: transparent except the product
    Image.fromarray(cutout, "RGBA").save(mask_path)
    assert np.array_equal(load_mask(mask_path), mask)


def test_gpu_out_of_memory_is_explained_or_retried_with_offload(photo, tiny_registry, monkeypatch):
    import torch

    from engine.models.diffusion import MemoryOptions

    path, mask = photo
    asked = []
    real = type(tiny_registry).inpaint_pipeline

    def inpaint_pipeline(self, control=True, memory=None):
        asked.append(memory)
        pipe = real(self, control=control, memory=memory)
        if memory == MemoryOptions():
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return pipe

    monkeypatch.setattr(type(tiny_registry), "inpaint_pipeline", inpaint_pipeline)
    with pytest.raises(EnhanceError, match="ran out of memory"):
        enhance(path, mask, EnhanceRecipe(**TINY), tiny_registry)
    result = enhance(path, mask, EnhanceRecipe(**TINY, retry_with_offload=True), tiny_registry)
    assert asked[-1] == MemoryOptions(cpu_offload=True, vae_tiling=True) and result.variants


def test_a_job_returns_one_outcome(photo, tiny_registry):
    path, mask = photo
    worker = EngineWorker()
    try:
        job = worker.submit(Job(lambda ctx: enhance(path, mask, EnhanceRecipe(**TINY), tiny_registry, ctx)))
        outcome = job.wait(60)
    finally:
        worker.shutdown()
    assert isinstance(outcome, Succeeded) and len(outcome.value.variants) == 1
    assert job.last_progress is not None and job.last_progress.done == job.last_progress.total


def test_keep_format_writes_a_max_quality_jpeg_with_the_parameters(tmp_path, tiny_registry):
    path = tmp_path / "IMG_1.jpg"
    Image.fromarray(textured_rgb(80, 96)).save(path, quality=90)
    result = enhance(path, box_mask(80, 96, (40, 30, 60, 50)), EnhanceRecipe(**TINY), tiny_registry)
    written = save_variant(result, result.variants[0], tmp_path / "out", keep_format=True)
    assert written.name == "IMG_1_enh_11.jpg"
    with Image.open(written) as image:
        assert image.format == "JPEG" and image.size == (96, 80)
        assert parse_parameters(image.info["comment"].decode())["Seed"] == "11"
        decoded = np.asarray(image).astype(int)
    assert np.abs(decoded - result.full_pixels(result.variants[0])).mean() < 2  # quality 100, 4:4:4


def test_soft_edges_blend_each_variant_through_the_matted_alpha(photo, tiny_registry):
    from engine.imaging.trimap import UNKNOWN, make_trimap

    path, mask = photo
    recipe = EnhanceRecipe(**TINY, soft_edges=True, edge_band=6)
    result = enhance(path, mask, recipe, tiny_registry)
    alpha = result.blend_alpha
    trimap = make_trimap(mask[result.region.slices], 6)
    band = trimap == UNKNOWN
    assert alpha.shape == band.shape
    assert set(np.unique(alpha[~band])) == {0.0, 1.0}  # hard outside the band: no feather there
    assert ((alpha[band] > 0) & (alpha[band] < 1)).all()
    original = np.asarray(Image.open(path))[result.region.slices]
    patch = result.variants[0].patch
    assert (patch[alpha == 0] == original[alpha == 0]).all()  # the scene, to the last bit
    assert (patch[alpha == 1] != original[alpha == 1]).any()  # the product, repainted
    # The feathered blend, for comparison, softens pixels the matte keeps hard.
    plain = enhance(path, mask, EnhanceRecipe(**TINY), tiny_registry).blend_alpha
    assert ((plain[~band] > 0) & (plain[~band] < 1)).any()


def test_keep_the_product_change_the_scene_repaints_only_around_the_product(photo, tiny_registry):
    path, mask = photo
    recipe = EnhanceRecipe(**TINY, keep_product=True, soft_edges=True, edge_band=6)
    result = enhance(path, mask, recipe, tiny_registry)
    original = np.asarray(Image.open(path))
    assert result.region.box == (0, 0, 160, 120)  # the whole picture: the scene is what changes
    pixels = result.full_pixels(result.variants[0])
    core = np.zeros(mask.shape, bool)
    core[44:66, 64:86] = True  # the product, 4 px in from its edge (the band is 3 px inside)
    scene = np.ones(mask.shape, bool)
    scene[30:80, 50:100] = False
    assert (pixels[core] == original[core]).all()  # the original product, to the last bit
    assert (pixels[scene] != original[scene]).any(axis=1).mean() > 0.5  # a new scene
    # Its figures are still taken: here the tiny matte's 0.5 in the band's inner half shows as colour
    # drift at the product's rim (a real matte keeps a solid product's rim near 1).
    assert result.variants[0].fidelity is not None
