"""The export on a shoot with known masks: masks at the original size and orientation, COCO that
pycocotools loads and whose masks equal the PNGs, LabelMe polygons within 1 px, the manifest, and the
bad-input cases (no mask, inside the shoot, existing files, a full disk)."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from engine.export.files import DiskFullError, ExportError
from engine.export.presets import BUILTIN, ExportPreset
from engine.export.run import run_export
from engine.export.selection import select_entries
from engine.project.store import ProjectStore
from tests.fixtures.export import make_shoot

LABELLING = BUILTIN["masks for labelling"]


@pytest.fixture
def shoot(tmp_path):
    shots = make_shoot(tmp_path / "shoot")
    with ProjectStore.open(tmp_path / "shoot") as store:
        yield store, shots, tmp_path / "export"


def export(store, out, preset=LABELLING, select="picked"):
    return run_export(store, select_entries(store, select), out, preset)


def read_mask(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "L"
        return np.asarray(image)


def test_masks_are_written_at_the_original_size_and_orientation_with_soft_edges(shoot):
    store, shots, out = shoot
    report = export(store, out)
    rotated = read_mask(out / "IMG_0042_mask.png")
    assert rotated.shape == (160, 100)  # upright (EXIF orientation 6), not the stored 100x160 nor half size
    # Up to the edge pixels the filter's half-size masks blur, the mask is the product where it stands.
    assert ((rotated >= 128) != shots["rotated"].product).sum() <= 2 * (60 + 50 + 60 + 50)
    assert rotated[40, 30] == 255 and rotated[125, 60] == 255 and rotated[85, 95] == 0
    wide = read_mask(out / "IMG_0043_mask.png")
    assert wide.shape == (80, 120)
    assert list(wide[30, 26:31]) == [60, 120, 180, 230, 255]  # the feathered edge kept, 8-bit
    assert report.rows[0].mask == "IMG_0042_mask.png"


def test_coco_loads_in_pycocotools_and_its_masks_equal_the_png_masks(shoot):
    from pycocotools.coco import COCO

    store, _, out = shoot
    report = export(store, out)
    coco = COCO(str(report.coco))
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"hand bag", "shoe"}
    by_file = {image["file_name"]: image for image in coco.loadImgs(coco.getImgIds())}
    assert set(by_file) == {"IMG_0042.jpg", "IMG_0043.png"}  # IMG_0044 has no mask
    assert (by_file["IMG_0042.jpg"]["width"], by_file["IMG_0042.jpg"]["height"]) == (100, 160)
    for file_name, image in by_file.items():
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        union = np.zeros((image["height"], image["width"]), bool)
        for annotation in annotations:
            mask = coco.annToMask(annotation).astype(bool)
            assert mask.shape == (image["height"], image["width"])
            ys, xs = np.nonzero(mask)
            assert annotation["bbox"] == [
                xs.min(),
                ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1,
            ]
            assert annotation["area"] == mask.sum() and 0 < annotation["score"] <= 1
            union |= mask
        png = read_mask(out / image["mask_file"])
        assert np.array_equal(union, png >= 128), file_name
    rotated = by_file["IMG_0042.jpg"]["id"]
    calls = {
        coco.cats[a["category_id"]]["name"]: a["score"] for a in coco.loadAnns(coco.getAnnIds(imgIds=rotated))
    }
    assert calls == {"hand bag": 0.8, "shoe": 0.7}


def test_labelme_polygons_rasterise_within_one_pixel_of_the_mask(shoot, tmp_path):
    import cv2

    store, _, out = shoot
    export(store, out)
    for stem in ("IMG_0042", "IMG_0043"):
        document = json.loads((out / f"{stem}.json").read_text())
        assert (
            document["imageData"] is None and (tmp_path / "export" / document["imagePath"]).resolve().exists()
        )
        height, width = document["imageHeight"], document["imageWidth"]
        drawn = np.zeros((height, width), np.uint8)
        for shape in document["shapes"]:
            assert shape["shape_type"] == "polygon" and shape["label"] in ("hand bag", "shoe")
            cv2.fillPoly(drawn, [np.round(np.array(shape["points"])).astype(np.int32)], 1)
        mask = read_mask(out / f"{stem}_mask.png") >= 128
        differ = drawn.astype(bool) != mask
        # Every differing pixel lies within 1 px of the mask's edge.
        edge = mask ^ ndimage.binary_erosion(mask) | (ndimage.binary_dilation(mask) ^ mask)
        near_edge = ndimage.binary_dilation(edge, iterations=1)
        assert not (differ & ~near_edge).any(), stem


def test_the_manifest_lists_every_selected_image_and_skips_the_one_without_a_mask(shoot):
    store, _, out = shoot
    report = export(store, out)
    rows = json.loads(report.manifest_json.read_text())
    assert [r["file"] for r in rows] == ["IMG_0042.jpg", "IMG_0043.png", "IMG_0044.png"]
    bare = rows[2]
    assert bare["status"] == "no mask" and bare["mask"] is None and bare["problems"]
    assert not (out / "IMG_0044_mask.png").exists()
    assert rows[0]["flag"] == "pick" and rows[0]["verdict"] == "product"
    assert rows[0]["classes"] == {"hand bag": 1, "shoe": 1} and rows[0]["scores"] == {
        "hand bag": 0.8,
        "shoe": 0.7,
    }
    csv_text = report.manifest_csv.read_text()
    assert csv_text.splitlines()[0].startswith("file,status,verdict,classes,scores")
    assert "IMG_0044.png,no mask" in csv_text
    assert report.summary().startswith("2 exported, 1 no mask")


def test_selection_by_class_verdict_and_files(shoot):
    store, shots, _ = shoot
    names = lambda entries: [e.rel_path for e in entries]  # noqa: E731
    assert names(select_entries(store, "class:hand bag")) == ["IMG_0042.jpg", "IMG_0045.png"]
    assert names(select_entries(store, "shoe")) == ["IMG_0042.jpg", "IMG_0043.png"]
    assert names(select_entries(store, "unflagged")) == ["IMG_0045.png"]
    assert names(select_entries(store, "all", [shots["other"].path])) == ["IMG_0045.png"]
    with pytest.raises(ExportError, match="classes in this shoot: hand bag, shoe"):
        select_entries(store, "handbag")


def test_nothing_is_overwritten_and_the_shoot_folder_is_refused(shoot):
    store, _, out = shoot
    export(store, out)
    first = (out / "IMG_0042_mask.png").read_bytes()
    again = export(store, out)
    assert again.rows[0].mask == "IMG_0042_mask-2.png" and again.manifest_csv.name == "manifest-2.csv"
    assert (out / "IMG_0042_mask.png").read_bytes() == first
    for inside in (store.folder, store.folder / "export"):
        with pytest.raises(ExportError, match="inside the shoot"):
            export(store, inside)


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_file(shoot, monkeypatch):
    import engine.runtime.atomic as atomic

    store, _, out = shoot
    calls = {"n": 0}
    real_fsync = atomic.os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:  # the third file: two masks are already complete
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(DiskFullError, match=r"Disk full writing .*free some space"):
        export(store, out)
    files = sorted(p.name for p in out.iterdir())
    assert all(not name.startswith(".") for name in files)  # no temporary file left
    assert files == ["IMG_0042.json", "IMG_0042_mask.png"]  # the third file is not there at all
    json.loads((out / "IMG_0042.json").read_text())  # what is there is complete
    with Image.open(out / "IMG_0042_mask.png") as image:
        image.load()


def test_cutouts_with_alpha_trimmed_and_padded_at_the_original_orientation(shoot):
    store, _, out = shoot
    preset = ExportPreset(name="t", masks=False, trim=True, padding=5, naming="{stem}_{class}")
    report = export(store, out, preset)
    assert report.rows[0].cutout == "IMG_0042_hand bag.png"
    with Image.open(out / "IMG_0042_hand bag.png") as image:
        assert image.mode == "RGBA"
        # Trimmed to both products (x 10..90, y 10..150 upright, ±1 px of mask blur) plus 5 px each side.
        assert abs(image.size[0] - (80 + 10)) <= 2 and abs(image.size[1] - (140 + 10)) <= 2
        pixels = np.asarray(image)
    assert (pixels[:5, :, 3] == 0).all() and (pixels[:, -5:, 3] == 0).all()
    bag = pixels[5 + 20, 5 + 20]  # inside the bag, upright
    assert bag[3] == 255 and abs(int(bag[0]) - 200) < 12 and int(bag[2]) < 60


def test_selection_by_rating_and_the_manifest_carries_the_stars(shoot):
    store, _, out = shoot
    by_name = {e.rel_path: e for e in store.images()}
    store.set_rating(by_name["IMG_0042.jpg"].image_id, 4)
    store.set_rating(by_name["IMG_0043.png"].image_id, 2)
    assert [e.rel_path for e in select_entries(store, "rating>=3")] == ["IMG_0042.jpg"]
    assert [e.rel_path for e in select_entries(store, "rating >= 2")] == ["IMG_0042.jpg", "IMG_0043.png"]
    report = export(store, out, select="rating>=3")
    rows = json.loads((out / "manifest.json").read_text())
    assert [(row["file"], row["rating"]) for row in rows] == [("IMG_0042.jpg", 4)]
    assert report.count("exported") == 1
