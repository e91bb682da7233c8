"""Benchmark: the product filter against the naive original approach, on the same images and weights.

Real-size random-weight SAM vit_b + open_clip ViT-B-32 on the CPU. The baseline is the original script's
approach: `SamAutomaticMaskGenerator.generate` at its defaults (but for thresholds that let random weights
keep a realistic number of proposals), then one crop at a time through CLIP, no caching. Both make the
same masked crops and decide with the same thresholds; the verdicts must be identical.

Prints images/second split into the image embedding (the same work in both) and everything after it.

    flock /tmp/shootstudio-heavy.lock python3 tests/benchmarks/bench_filter.py
    flock ... python3 tests/benchmarks/bench_filter.py --points-per-side 16 --iou-thresh 0.045

With --against-today: today's filter (when issue 14 was filed: fp32, segment_anything's encoder
attention, CLIP fp32 in batches of 32) against the exact mode in fp32 and bf16 and the coarse mode, per
image everything included (read, embed, proposals, CLIP, store, verdict), with the ratio, region counts,
verdicts and how each path's masks and scores agree with today's (and bf16's with fp32's):

    flock /tmp/shootstudio-heavy.lock python3 tests/benchmarks/bench_filter.py --against-today --images 2

Needs ~5 GB of RAM; on 2 cores ~15 minutes at the default 32² points, ~6 at 16² (the baseline dominates).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.filter.classes import default_classes
from engine.filter.clip_scoring import ClipScorer, mask_crop
from engine.filter.run import FilterSettings, ProductFilter, region_scores
from engine.filter.verdict import decide
from engine.imaging.read import read_image
from engine.models.config import ModelsConfig
from engine.models.registry import ModelRegistry
from engine.models.sam import SAM_VARIANTS, build_sam
from engine.project.store import ProjectStore
from engine.segment.session import ProposalSettings


def write_models(folder: Path) -> Path:
    """Real-size architectures with random weights, in the formats users have (.pth, safetensors)."""
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(0)
    torch.save(build_sam(SAM_VARIANTS["vit_b"]).state_dict(), folder / "sam_vit_b_random.pth")
    clip = open_clip.create_model("ViT-B-32", pretrained=None)
    save_file(
        {k: v.contiguous() for k, v in clip.state_dict().items()}, str(folder / "clip_random.safetensors")
    )
    toml = folder / "models.toml"
    toml.write_text(
        '[sam]\npath = "sam_vit_b_random.pth"\nvariant = "vit_b"\n\n'
        '[clip]\npath = "clip_random.safetensors"\narch = "ViT-B-32"\n'
    )
    return toml


def write_shoot(folder: Path, count: int) -> list[Path]:
    """1024x768 studio-like shots: a light backdrop with one to three textured objects; the last is empty."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        backdrop = np.linspace(235, 205, 768)[:, None, None] * np.ones((1, 1024, 3))
        image = Image.fromarray((backdrop + rng.normal(0, 3, (768, 1024, 3))).clip(0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(0 if i == count - 1 else 1 + i % 3):
            x, y = rng.integers(80, 700), rng.integers(60, 450)
            w, h = rng.integers(150, 320), rng.integers(120, 280)
            color = tuple(int(c) for c in rng.integers(20, 200, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=color)
        path = folder / f"shot_{i:02d}.jpg"
        image.save(path, quality=92)
        paths.append(path)
    return paths


def ours_one(product_filter, store, path, breakdown):
    """The product filter on one image: (embed s, after s, regions, scores)."""
    start = time.perf_counter()
    report = product_filter.process(path)
    total = time.perf_counter() - start
    embed = report.timings["embed"]
    for key, value in report.timings.items():
        breakdown[key] = breakdown.get(key, 0.0) + value
    scores = [json.loads(r["scores"]) for r in store.region_rows(report.image_id, product_filter.run_key)]
    return embed, total - embed, len(scores), scores


def baseline_one(sam, scorer, path, class_set, settings, breakdown):
    """The original approach on one image: automatic masks at default settings, one crop at a time
    through CLIP, no caching. Returns (embed s, after s, regions, scores)."""
    from segment_anything import SamAutomaticMaskGenerator

    proposals = settings.proposals
    start = time.perf_counter()
    rgb = read_image(path).rgb
    generator = SamAutomaticMaskGenerator(
        sam,
        points_per_side=proposals.points_per_side,
        pred_iou_thresh=proposals.pred_iou_thresh,
        stability_score_thresh=proposals.stability_score_thresh,
        box_nms_thresh=proposals.box_nms_thresh,
    )
    embed = {"s": 0.0}
    set_image = generator.predictor.set_image

    def timed_set_image(image, *args):
        t = time.perf_counter()
        set_image(image, *args)
        embed["s"] += time.perf_counter() - t

    generator.predictor.set_image = timed_set_image
    with torch.inference_mode():
        annotations = generator.generate(rgb)
    masks_done = time.perf_counter()
    min_area = settings.min_area_fraction * rgb.shape[0] * rgb.shape[1]
    regions = []
    for ann in annotations:
        if ann["area"] < min_area:
            continue
        x, y, w, h = ann["bbox"]
        crop = mask_crop(
            rgb, ann["segmentation"], (x, y, x + w, y + h), scorer.bundle.image_size, scorer.fill
        )
        probs = scorer.score_crops([crop], class_set)[0]  # one crop per CLIP call
        regions.append(region_scores(probs, class_set))
    decide(list(enumerate(regions)), class_set)  # (decided again below with the final thresholds)
    end = time.perf_counter()
    breakdown["automatic masks"] = breakdown.get("automatic masks", 0.0) + masks_done - start - embed["s"]
    breakdown["CLIP one crop at a time"] = breakdown.get("CLIP one crop at a time", 0.0) + end - masks_done
    return embed["s"], end - start - embed["s"], len(regions), regions


def run_both(registry, folder, paths, class_set, settings):
    """Image by image, the filter then the baseline, so that a slower or faster spell of a shared
    machine falls on both. Returns (filter rows, baseline rows, their breakdowns, cached re-run)."""
    ours, base, ours_breakdown, base_breakdown = [], [], {}, {}
    with ProjectStore.open(folder) as store:
        product_filter = ProductFilter(registry, store, class_set, settings)
        product_filter._models()  # load outside the timings, as the baseline does
        sam, scorer = registry.sam(), ClipScorer(registry)
        for number, path in enumerate(paths, 1):
            ours.append(ours_one(product_filter, store, path, ours_breakdown))
            base.append(baseline_one(sam, scorer, path, class_set, settings, base_breakdown))
            print(
                f"image {number}/{len(paths)}: filter {sum(ours[-1][:2]):.1f} s, baseline "
                f"{sum(base[-1][:2]):.1f} s",
                flush=True,
            )
        # A second class set on the same store: the regions of the first run are reused (CLIP only).
        other_classes = class_set.select([*class_set.names, "sunglasses"])
        again = ProductFilter(registry, store, other_classes, settings)
        again._models()
        start = time.perf_counter()
        report = again.process(paths[0])
        cached = (report.timings["embed"], time.perf_counter() - start)
    return ours, base, ours_breakdown, base_breakdown, cached


# -- today's filter against the new one (--against-today) ---------------------------------------------
# "Today": the filter when issue 14 was filed: fp32 everywhere, segment_anything's own encoder attention,
# the reordered decoder without the per-image query projection of layer 1, CLIP fp32 in batches of 32.
PATHS = {
    "today fp32": dict(precision="fp32", today=True),
    "exact fp32": dict(precision="fp32"),
    "exact bf16": dict(precision="bf16"),
    "coarse bf16": dict(precision="bf16", proposals_mode="coarse"),
}


class TodaysModels:
    """Puts the SAM model into today's state for a `with` block: the library's encoder attention and
    layout, no layer-1 query projection in the decoder (hence not the factored transformer either), and
    crops, mask files, CLIP batches and decoder batches one at a time; the new state again on exit.
    (The allocator setting of engine/runtime/allocator.py is made for the whole process, which this
    cannot undo: `TodayProcess` runs today's path in a process with glibc's defaults.)"""

    def __init__(self, sam):
        self.sam = sam

    def __enter__(self):
        from engine.segment import proposals
        from engine.segment.encoder import restore_encoder

        restore_encoder(self.sam.image_encoder).to(memory_format=torch.contiguous_format)
        # the proposals' image side (engine/segment/proposals.py: SamSession.propose) without layer 1's
        # per-image queries
        self.prepare = proposals.prepare_image
        proposals.prepare_image = lambda *a: replace(self.prepare(*a), first_image_queries=None)
        self.serial = [(module, name, getattr(module, name)) for module, name in _threaded_modules()]
        for module, name, _ in self.serial:
            setattr(module, name, lambda function, items, *workers: [function(item) for item in items])
        return self

    def __exit__(self, *exc):
        from engine.segment import proposals
        from engine.segment.encoder import accelerate_encoder

        proposals.prepare_image = self.prepare
        for module, name, threaded in self.serial:
            setattr(module, name, threaded)
        accelerate_encoder(self.sam.image_encoder)


def _threaded_modules():
    """Where the filter maps over threads: crops, mask files, CLIP and decoder batches."""
    from engine.filter import clip_scoring, run
    from engine.segment import proposals

    crops_and_files = [(clip_scoring, "ordered_map"), (run, "ordered_map")]
    return [*crops_and_files, (clip_scoring, "map_batches"), (proposals, "map_batches")]


def region_masks(store, image_id, run_key):
    rows = store.region_rows(image_id, run_key)
    masks = [store.load_mask(row["mask_path"]) for row in rows]
    return masks, [json.loads(row["scores"]) for row in rows]


def matched(masks_a, masks_b):
    """For each mask of a, the IoU of its best match in b and that match's index."""
    if not masks_a or not masks_b:
        return np.zeros(0), np.zeros(0, int)
    a = np.stack(masks_a).reshape(len(masks_a), -1).astype(np.float32)
    b = np.stack(masks_b).reshape(len(masks_b), -1).astype(np.float32)
    inter = a @ b.T
    iou = inter / np.maximum(a.sum(1)[:, None] + b.sum(1)[None] - inter, 1)
    return iou.max(1), iou.argmax(1)


def path_settings(settings, name):
    spec = PATHS[name]
    return replace(
        settings,
        precision=spec["precision"],
        proposals_mode=spec.get("proposals_mode", "exact"),
        clip_batch=32 if spec.get("today") else settings.clip_batch,
        proposals=replace(settings.proposals, points_per_batch=4 if spec.get("today") else None),
    )


def time_one(registry, folder, copy, class_set, settings, name):
    """One path on one image in its own store: (wall s, CPU s, image id, run key, timings)."""
    with ProjectStore.open(folder) as store:
        product_filter = ProductFilter(registry, store, class_set, path_settings(settings, name))
        product_filter._models()  # models load outside the timings
        context = TodaysModels(registry.sam()) if PATHS[name].get("today") else contextlib.nullcontext()
        with context:
            start, cpu = time.perf_counter(), time.process_time()
            report = product_filter.process(copy)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, report.image_id, product_filter.run_key, report.timings


class TodayProcess:
    """Today's path in a process of its own with glibc's allocator defaults, as today's code ran: the
    allocator setting (engine/runtime/allocator.py) is process-wide, so in the benchmark's own process
    today's path would have it too. Same models, settings and images; one request an image."""

    def __init__(self, models_toml: Path, args: list[str]):
        import subprocess

        env = dict(os.environ, SHOOTSTUDIO_KEEP_FREED_MEMORY="0")
        command = [sys.executable, __file__, "--today-worker", str(models_toml), *args]
        self.child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self._reply()  # ready: models loaded, encoder warmed up

    def _reply(self):
        for line in self.child.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY) :])
        raise RuntimeError(f"today's process ended (exit code {self.child.wait()})")

    def time_one(self, folder, copy):
        self.child.stdin.write(json.dumps([str(folder), str(copy)]) + "\n")
        self.child.stdin.flush()
        return tuple(self._reply())

    def close(self):
        self.child.stdin.close()
        self.child.wait()


REPLY = "@@today "  # the child's replies on stdout (anything else there is passed over)


def today_worker(models_toml: Path, settings, class_set) -> int:
    """The child of `TodayProcess`: reads [folder, image] lines, answers each with `time_one`'s result."""
    from engine.segment.encoder import encode

    registry = ModelRegistry(ModelsConfig.load(models_toml), "cpu")
    sam = registry.sam()
    with TodaysModels(sam):
        encode(sam, torch.zeros(1, 3, sam.image_encoder.img_size, sam.image_encoder.img_size))  # warm-up
    print(REPLY + "null", flush=True)
    for line in sys.stdin:
        folder, copy = json.loads(line)
        result = time_one(registry, Path(folder), Path(copy), class_set, settings, "today fp32")
        print(REPLY + json.dumps(result), flush=True)
    return 0


def against_today(registry, work, paths, class_set, settings, names, today=None) -> int:
    """Per image, each path in turn (interleaved, so a busy spell of the shared machine falls on all).
    `today`: a `TodayProcess` for today's path (else it runs in this process)."""
    import shutil

    from engine.segment.encoder import accelerate_encoder, encode

    sam = registry.sam()
    blank = torch.zeros(1, 3, sam.image_encoder.img_size, sam.image_encoder.img_size)
    with TodaysModels(sam):
        encode(sam, blank)  # warm-up of each encoder, untimed: no path pays for a first call
    accelerate_encoder(sam.image_encoder)
    encode(sam, blank)
    encode(sam, blank, torch.bfloat16)
    rows = {name: [] for name in names}  # per image: (wall s, CPU s, regions, masks, scores, timings)
    for number, path in enumerate(paths, 1):
        for name in names:
            spec = PATHS[name]
            folder = work / name.replace(" ", "-")  # a store of its own: nothing cached across paths
            folder.mkdir(exist_ok=True)
            copy = folder / path.name
            shutil.copy(path, copy)
            if spec.get("today") and today is not None:
                wall, cpu, image_id, run_key, timings = today.time_one(folder, copy)
            else:
                wall, cpu, image_id, run_key, timings = time_one(
                    registry, folder, copy, class_set, settings, name
                )
            with ProjectStore.open(folder) as store:
                masks, scores = region_masks(store, image_id, run_key)
            rows[name].append((wall, cpu, len(masks), masks, scores, timings))
            print(
                f"image {number}/{len(paths)} {name}: {wall:.1f} s (CPU {cpu:.1f}), {len(masks)} regions, "
                + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
                flush=True,
            )
    # Random CLIP gives near-uniform probabilities: a threshold in the widest gap between today's images'
    # best class scores, so that some images pass and some do not; every path decides with it.
    best = sorted(max((max(s[c] for c in class_set.names) for s in r[4]), default=0) for r in rows[names[0]])
    gap = max(range(len(best) - 1), key=lambda i: best[i + 1] - best[i]) if len(best) > 1 else 0
    threshold = (best[gap] + best[min(gap + 1, len(best) - 1)]) / 2
    for name in class_set.names:
        class_set = class_set.with_threshold(name, threshold=threshold, margin=-1.0)
    class_set = replace(class_set, uncertain_band=0.0)
    base = rows[names[0]]
    print(f"\n{len(paths)} images; class threshold {threshold:.4f} (margin off)\n")
    print(
        "| path | s an image (wall) | CPU s an image | × today (wall / CPU) | regions per image | "
        "Δ regions vs today | verdicts | same verdicts as today |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    base_verdicts = [decide(list(enumerate(r[4])), class_set).verdict for r in base]
    for name in names:
        r = rows[name]
        wall, cpu = np.mean([x[0] for x in r]), np.mean([x[1] for x in r])
        regions = [x[2] for x in r]
        change = (sum(regions) - sum(x[2] for x in base)) / max(sum(x[2] for x in base), 1)
        verdicts = [decide(list(enumerate(x[4])), class_set).verdict for x in r]
        same = sum(a == b for a, b in zip(verdicts, base_verdicts, strict=True))
        print(
            f"| {name} | {wall:.1f} | {cpu:.1f} | {np.mean([x[0] for x in base]) / wall:.2f} / "
            f"{np.mean([x[1] for x in base]) / cpu:.2f} | {regions} | {change:+.1%} | {verdicts} | "
            f"{same}/{len(r)} |"
        )
    print("\nAgreement of each path's regions with today's (each of today's masks matched to its best):")
    print("| path | matched mask IoU median | min | share ≥ 0.9 | class score |Δ| median | max |")
    print("| --- | --- | --- | --- | --- | --- |")
    pairs = [(name, names[0]) for name in names[1:]]
    if "exact bf16" in names and "exact fp32" in names:
        pairs.append(("exact bf16", "exact fp32"))
    for name, ref in pairs:
        ious, diffs = [], []
        for mine, theirs in zip(rows[name], rows[ref], strict=True):
            iou, index = matched(theirs[3], mine[3])
            ious.extend(iou)
            for i, j in enumerate(index):
                diffs.extend(abs(theirs[4][i][c] - mine[4][j][c]) for c in class_set.names)
        ious, diffs = np.array(ious), np.array(diffs)
        label = name if ref == names[0] else f"{name} against {ref}"
        if not len(ious):
            print(f"| {label} | – | – | – | – | – |")
            continue
        print(
            f"| {label} | {np.median(ious):.4f} | {ious.min():.4f} | {np.mean(ious >= 0.9):.0%} | "
            f"{np.median(diffs):.2e} | {diffs.max():.2e} |"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3)
    # SAM's default grid. (16² with --iou-thresh 0.045 keeps as many regions for a quarter of the points:
    # a run in minutes, and the CLIP-heavy case, since CLIP's work per region is the same in both.)
    parser.add_argument("--points-per-side", type=int, default=32)
    # Random weights predict IoUs around 0.03 and stability 0, far below real SAM's 0.88 / 0.95 defaults;
    # at 32² points 0.056 keeps ~110 masks an image (~3%), about what real SAM leaves of a product shot.
    parser.add_argument("--iou-thresh", type=float, default=0.056)
    parser.add_argument("--stability-thresh", type=float, default=0.0)
    # Random masks are large blobs that share nearly one box: SAM's 0.7 box NMS would leave one region.
    parser.add_argument("--nms", type=float, default=1.0, help="box NMS IoU (1.0: keep every proposal)")
    parser.add_argument("--models", type=Path, help="use this models.toml instead (a quick smoke run)")
    parser.add_argument(
        "--against-today",
        action="store_true",
        help="today's filter (fp32, the library's encoder attention) against the exact and coarse modes "
        "in fp32/bf16, everything included, instead of the naive baseline",
    )
    parser.add_argument("--paths", default=",".join(PATHS), help="with --against-today: which, today first")
    parser.add_argument(
        "--today-in-process",
        action="store_true",
        help="with --against-today: today's path in this process, with the allocator setting of the others "
        "(by default it runs in a process of its own with glibc's defaults, as today's code did)",
    )
    parser.add_argument("--today-worker", type=Path, help=argparse.SUPPRESS)  # (TodayProcess's child)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    proposal_args = ["--points-per-side", str(args.points_per_side), "--iou-thresh", str(args.iou_thresh)]
    proposal_args += ["--stability-thresh", str(args.stability_thresh), "--nms", str(args.nms)]
    settings = FilterSettings(
        ProposalSettings(
            points_per_side=args.points_per_side,
            pred_iou_thresh=args.iou_thresh,
            stability_score_thresh=args.stability_thresh,
            box_nms_thresh=args.nms,
        ),
        precision="fp32",  # the naive baseline's; --against-today sets each path's own
    )
    if args.today_worker:
        return today_worker(args.today_worker, settings, default_classes())

    work = Path(tempfile.mkdtemp(prefix="bench-filter-"))

    atexit.register(shutil.rmtree, work, True)  # ~1 GB of random weights and stores
    (work / "shoot").mkdir()
    models_toml = args.models or write_models(work)
    registry = ModelRegistry(ModelsConfig.load(models_toml), "cpu")
    paths = write_shoot(work / "shoot", args.images)
    class_set = default_classes()
    print(
        f"{len(paths)} images 1024x768, {args.points_per_side}² points, iou>{args.iou_thresh}, "
        f"stability>={args.stability_thresh}, box NMS {args.nms}, torch threads {torch.get_num_threads()}",
        flush=True,
    )
    if args.against_today:
        names = [n.strip() for n in args.paths.split(",") if n.strip()]
        today = None
        if not args.today_in_process and any(PATHS[name].get("today") for name in names):
            today = TodayProcess(models_toml.resolve(), proposal_args)
            print("today's path: a process of its own with glibc's allocator defaults", flush=True)
        try:
            return against_today(registry, work, paths, class_set, settings, names, today)
        finally:
            if today is not None:
                today.close()
    ours, base, breakdown, base_breakdown, cached = run_both(
        registry, work / "shoot", paths, class_set, settings
    )
    # Random CLIP gives near-uniform probabilities: put every class's threshold in the widest gap between
    # the images' best scores (from the filter's stored scores), so some images pass and some do not;
    # then both pipelines decide with it (the filter from its stored scores: no model runs).
    best = sorted(max(max(v for k, v in r.items() if k in class_set.names) for r in row[3]) for row in ours)
    gap = max(range(len(best) - 1), key=lambda i: best[i + 1] - best[i]) if len(best) > 1 else 0
    threshold = (best[gap] + best[min(gap + 1, len(best) - 1)]) / 2
    for name in class_set.names:
        class_set = class_set.with_threshold(name, threshold=threshold, margin=-1.0)
    class_set = replace(class_set, uncertain_band=0.0)

    def verdicts(rows):
        return [decide(list(enumerate(row[3])), class_set).verdict for row in rows]

    verdicts_ours, verdicts_base = verdicts(ours), verdicts(base)
    regions_ours, regions_base = [r[2] for r in ours], [r[2] for r in base]
    diffs = [
        abs(a[k] - b[k])
        for ro, rb in zip(ours, base, strict=True)
        for a, b in zip(ro[3], rb[3], strict=False)  # both in NMS order
        for k in a
    ]
    n = len(paths)

    def rates(rows):
        embed, after = sum(r[0] for r in rows), sum(r[1] for r in rows)
        return embed / n, after / n, n / embed, n / after, n / (embed + after)

    o, b = rates(ours), rates(base)
    header = ["pipeline", "regions/img", "embed s/img", "after-embed s/img", "embed img/s"]
    header += ["after-embed img/s", "total img/s"]
    table = [header, ["---"] * len(header)]
    for name, r, regions in (("naive baseline", b, regions_base), ("product filter", o, regions_ours)):
        table.append([name, f"{np.mean(regions):.0f}", f"{r[0]:.2f}", f"{r[1]:.2f}"])
        table[-1] += [f"{r[2]:.3f}", f"{r[3]:.3f}", f"{r[4]:.3f}"]
    table.append(["ratio (filter / baseline)", "", "", "", f"{o[2] / b[2]:.2f}x"])
    table[-1] += [f"**{o[3] / b[3]:.1f}x**", f"{o[4] / b[4]:.2f}x"]
    print()
    for row in table:
        print("| " + " | ".join(row) + " |")
    print()
    print(
        "product filter, after-embed breakdown (s/img): "
        + ", ".join(f"{k} {v / n:.2f}" for k, v in breakdown.items() if k != "embed")
    )
    print(
        "naive baseline, after-embed breakdown (s/img): "
        + ", ".join(f"{k} {v / n:.2f}" for k, v in base_breakdown.items())
    )
    print(
        f"re-run with another class set (regions reused, no SAM): embed {cached[0]:.2f} s + rest "
        f"{cached[1] - cached[0]:.2f} s"
    )
    print(f"class threshold {threshold:.4f} (margin off); verdicts: filter {verdicts_ours}")
    print(f"          baseline {verdicts_base}")
    print(
        f"regions per image: filter {regions_ours}, baseline {regions_base}; "
        f"max |score difference| {max(diffs, default=0):.2e}"
    )
    assert verdicts_ours == verdicts_base, "the verdicts differ"
    assert regions_ours == regions_base, "the region counts differ"
    print("identical verdicts and region counts: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
