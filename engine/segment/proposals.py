"""SAM's automatic masks: the point-grid proposals of the product filter and one mask per detector box.

`SamSession` (engine/segment/session.py) inherits `ProposalsMixin`; the mixin uses the session's model,
predictor, lock and cached image side. Settings, results and the decoding helpers live here too.

```python
proposals = session.propose(ProposalSettings())      # automatic masks over a point grid (batched)
boxed = session.masks_for_boxes([[x0, y0, x1, y1]])    # one mask per box (text-prompted proposals)
```
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.utils.amg import (
    batch_iterator,
    batched_mask_to_box,
    build_all_layer_point_grids,
    calculate_stability_score,
)
from torchvision.ops import batched_nms

from engine.runtime.device import batch_workers
from engine.runtime.pool import map_batches
from engine.segment import factored
from engine.segment.decoder import (
    PreparedImage,
    decode_all,
    prepare_image,
    two_way_transformer,
    upscale_masks,
)
from engine.segment.encoder import autocast
from engine.segment.factored import FactoredImage, factor_image, factored_layers, final_attention


def default_points_per_batch(device: torch.device, dtype: torch.dtype) -> int:
    """Prompts per decoder batch for automatic masks: 256 on a GPU; 8 on the CPU, where two batches run
    side by side (engine/runtime/device.batch_workers). The factored transformer (float32, `grid_image`)
    on a 2-core Zen 4, vit_b, one batch at a time, s for 256 prompts: 1.83 / 2.32 at batch 4, 2.01 /
    2.08 at 8, 1.85 / 1.95 at 16 (the reordered decoder 3.2 / 3.1 at 4 and 4.2 / 3.9 at 16: its
    per-prompt 4 MB image tokens leave the caches sooner); two side by side, s for 1,024 prompts: 7.0-8.3
    at 4, 6.7-7.7 at 8, 7.9-10.2 at 16 (two batches of 16 keep 60 MB of 112 x 4,096 tensors in flight)."""
    if device.type != "cpu":
        return 256
    return 8


KEPT = ("masks", "boxes", "iou", "stab", "points")  # what each batch keeps of its masks (`propose`)


@dataclass(frozen=True)
class ProposalSettings:
    """Automatic mask settings; the defaults are SamAutomaticMaskGenerator's (one crop layer, no crops)."""

    points_per_side: int = 32
    points_per_batch: int | None = None  # None: `default_points_per_batch` (measured per device, dtype)
    workers: int | None = None  # decoder batches side by side; None: `batch_workers` (per device)
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0
    box_nms_thresh: float = 0.7
    max_side: int = 1024  # proposals are made at this working resolution (SAM's own input size)

    def key(self) -> str:
        speed_only = ("points_per_batch", "workers")  # the same masks whatever they are
        return ",".join(f"{k}={v}" for k, v in sorted(self.__dict__.items()) if k not in speed_only)


@dataclass
class Proposals:
    """Deduplicated automatic masks at the working size, best first.

    masks: N x h x w bool; boxes: N x 4 int (x0, y0, x1, y1); pred_iou, stability: N float32."""

    masks: np.ndarray
    boxes: np.ndarray
    pred_iou: np.ndarray
    stability: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    points: np.ndarray | None = None  # N x 2: the prompt (x, y in [0, 1]) that made each mask, when known

    def __len__(self) -> int:
        return len(self.masks)


def grid_image(
    transformer: Any, prepared: PreparedImage, dtype: torch.dtype
) -> PreparedImage | FactoredImage:
    """The image side for a grid of prompts: factored (engine/segment/factored.py; in the filter on a
    2-core CPU 1.5-1.9x less time than the reordered decoder) for SAM's transformer in float32 on the
    CPU; the reordered decoder's otherwise. (On a GPU: its fp16 would not hold the factored norms'
    expanded variances, and the factored products, one per prompt, suit a CPU's caches, not a GPU's
    launches.)"""
    on_cpu = prepared.image.device.type == "cpu"
    full = dtype == torch.float32 and prepared.first_image_queries is not None
    if on_cpu and full and factored.supports(transformer):
        return factor_image(transformer, prepared)
    return prepared


@torch.inference_mode()
def decode_passing(
    decoder: Any,
    prepared: PreparedImage | FactoredImage,
    sparse: torch.Tensor,
    iou_thresh: float,
    with_prompts: bool = False,
) -> tuple[torch.Tensor, ...]:
    """segment_anything's `MaskDecoder.predict_masks` (multimask) for B prompts without a mask prompt on
    one image (`grid_image`), split where the IoU filter can act.

    The transformer (factored, or the reordered decoder: the library's modules without a copy of the
    image per prompt) runs for every prompt and yields the predicted IoU; the mask upscaling then runs
    only for prompts with a mask above `iou_thresh`, since the automatic generator drops the others
    anyway (and only their image tokens are written out).
    Returns (low-res logits M x 4h x 4w, predicted IoU M) of the masks that pass, and with `with_prompts`
    the index of the prompt of each (M)."""
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    output_tokens = output_tokens.unsqueeze(0).expand(sparse.size(0), -1, -1)
    tokens = torch.cat((output_tokens, sparse), dim=1)
    if isinstance(prepared, FactoredImage):
        # The final attention first for the IoU token alone (each token attends on its own), then for
        # every token of the prompts that pass: the mask tokens of the others are never needed.
        transformer = decoder.transformer
        layered, factored_keys = factored_layers(transformer, prepared, tokens)
        iou_query = final_attention(transformer, factored_keys, layered[:, :1], tokens[:, :1])[:, 0]

        def passing_side(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            final = final_attention(transformer, factored_keys.select(rows), layered[rows], tokens[rows])
            return factored_keys.tokens(rows), final

        grid_hw = prepared.prepared.grid_hw
    else:
        queries, keys = two_way_transformer(decoder.transformer, prepared, tokens)
        iou_query, grid_hw = queries[:, 0, :], prepared.grid_hw

        def passing_side(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return keys[rows], queries[rows]

    iou = decoder.iou_prediction_head(iou_query)[:, 1:]  # multimask output: masks 1..3
    passing = iou > iou_thresh if iou_thresh > 0.0 else torch.ones_like(iou, dtype=torch.bool)
    rows = passing.any(dim=1)
    h, w = grid_hw
    prompts = (passing.nonzero(as_tuple=True)[0],) if with_prompts else ()  # row-major: as masks[keep]
    if not bool(rows.any()):
        return torch.zeros((0, 4 * h, 4 * w), device=iou.device), iou.new_zeros(0), *prompts
    masks = upscale_masks(decoder, *passing_side(rows), grid_hw)[:, 1:]
    keep = passing[rows]
    return masks[keep], iou[rows][keep], *prompts


def upscale_logits(model: Any, low_res: torch.Tensor, input_size, size_hw) -> torch.Tensor:
    """`Sam.postprocess_masks` for M x 4g x 4g logits → M x H x W, minus its second resize when it would
    be to the same size (bilinear at scale 1 is the identity, so the result is the same)."""
    side = model.image_encoder.img_size
    masks = F.interpolate(low_res[:, None], (side, side), mode="bilinear", align_corners=False)
    masks = masks[..., : input_size[0], : input_size[1]]
    if tuple(masks.shape[-2:]) != tuple(size_hw):
        masks = F.interpolate(masks, tuple(size_hw), mode="bilinear", align_corners=False)
    return masks[:, 0]


def working_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(h, w) scaled so the longer side is at most `max_side` (never enlarged)."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


class ProposalsMixin:
    """Automatic masks for `SamSession` (which provides model, predictor, dtype, device, _lock,
    _prepare_no_mask, prompt_decoder and _require_image)."""

    def proposal_decoder_dtype(self) -> torch.dtype:
        """The decoder's precision for automatic masks: fp16 on a GPU when asked, float32 on the CPU.

        On the CPU the predicted-IoU and stability thresholds are decided on float32 logits: with the
        decoder in bf16 the benchmark's region count moved by 11% (masks near the thresholds cross them),
        with only the embedding in bf16 by 1%; and the bf16 decoder was not faster here (autocast's casts
        of the per-prompt image tokens cost what the bf16 products save; bench_filter_batches.py)."""
        return self.dtype if self.device.type == "cuda" else torch.float32

    def _proposal_batch(
        self, settings, prepared, batch, normalised, size_hw, decoder_dtype, check
    ) -> tuple[dict[str, list], float, float]:
        """One batch of prompts (`propose`): its kept masks, boxes, IoUs, stabilities and prompts, and
        the seconds spent decoding and post-processing."""
        model, predictor = self.model, self.predictor
        kept: dict[str, list] = {key: [] for key in KEPT}
        start = time.perf_counter()
        coords = torch.as_tensor(batch, dtype=torch.float, device=self.device)[:, None, :]
        labels = torch.ones(coords.shape[:2], dtype=torch.int, device=self.device)
        sparse, _ = model.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
        with autocast(self.device, decoder_dtype):  # (per thread, as inference mode)
            low_res, iou, prompt = decode_passing(
                model.mask_decoder, prepared, sparse, settings.pred_iou_thresh, with_prompts=True
            )
        low_res, iou = low_res.float(), iou.float()
        middle = time.perf_counter()
        for chunk in range(0, len(low_res), 64):  # bounded memory for full-size logits
            logits = upscale_logits(model, low_res[chunk : chunk + 64], predictor.input_size, size_hw)
            offset = settings.stability_score_offset
            stability = calculate_stability_score(logits, model.mask_threshold, offset)
            keep = (
                stability >= settings.stability_score_thresh
                if settings.stability_score_thresh > 0.0
                else torch.ones_like(stability, dtype=torch.bool)
            )
            masks = logits[keep] > model.mask_threshold
            kept["masks"].append(masks)
            kept["boxes"].append(batched_mask_to_box(masks))
            kept["iou"].append(iou[chunk : chunk + 64][keep])
            kept["stab"].append(stability[keep])
            kept["points"].append(normalised[prompt[chunk : chunk + 64][keep].cpu().numpy()])
        # (The library's crop-edge filter removes nothing when the crop is the whole image.)
        done = time.perf_counter()
        if check is not None:
            check()
        return kept, middle - start, done - middle

    @torch.inference_mode()
    def propose(
        self, settings: ProposalSettings | None = None, check: Any = None, points: np.ndarray | None = None
    ) -> Proposals:
        """Automatic masks at the working size (long side <= settings.max_side).

        The library's generator decodes and upscales every mask to full size before filtering; here the
        predicted-IoU filter runs right after the decoder's transformer, so rejected masks are neither
        upscaled by the decoder nor to full size, and no RLE round trip is made. The decoder's arithmetic
        is the library's, reordered (engine/sam_decoder.py), so for images of at most `max_side` the
        proposals are SamAutomaticMaskGenerator's (crop_n_layers=0) up to float rounding. `check()` is
        called between batches (cancellation). `points`: K x 2 prompts (x, y) in [0, 1] of the image
        instead of the settings' grid (coarse-to-fine proposals ask for a part of the grid)."""
        settings = settings or ProposalSettings()
        with self._lock:
            self._require_image()
            height, width = working_size(*self.predictor.original_size, settings.max_side)
            model, predictor = self.model, self.predictor
            grid = (
                points
                if points is not None
                else build_all_layer_point_grids(settings.points_per_side, 0, 1)[0]
            )
            points = predictor.transform.apply_coords(grid * np.array([[width, height]]), (height, width))
            no_mask = model.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
            decoder_dtype = self.proposal_decoder_dtype()
            with autocast(self.device, decoder_dtype):
                transformer = model.mask_decoder.transformer
                prepared = prepare_image(
                    transformer, predictor.features + no_mask, model.prompt_encoder.get_dense_pe()
                )
                prepared = grid_image(transformer, prepared, decoder_dtype)
            batch_size = settings.points_per_batch or default_points_per_batch(self.device, decoder_dtype)
            batches = list(batch_iterator(batch_size, points, grid))

            def run_batch(item: tuple[np.ndarray, np.ndarray]) -> tuple[dict[str, list], float, float]:
                with torch.inference_mode():  # (per thread)
                    return self._proposal_batch(
                        settings, prepared, *item, (height, width), decoder_dtype, check
                    )

            start = time.perf_counter()
            parts = map_batches(run_batch, batches, settings.workers or batch_workers(self.device))
            decode = sum(part[1] for part in parts)
            postprocess = sum(part[2] for part in parts)
            wall = time.perf_counter() - start  # (shared out in proportion when batches ran side by side)
            share = wall / max(decode + postprocess, 1e-9)
            timings = {"decode": decode * share, "postprocess": postprocess * share}
            kept = {key: [piece for part in parts for piece in part[0][key]] for key in KEPT}
            start = time.perf_counter()
            if not kept["masks"] or sum(len(m) for m in kept["masks"]) == 0:
                empty = np.zeros((0, height, width), bool)
                none = np.zeros(0, np.float32)
                return Proposals(empty, np.zeros((0, 4), int), none, none, timings, np.zeros((0, 2)))
            masks, boxes = torch.cat(kept["masks"]), torch.cat(kept["boxes"])
            iou, stability = torch.cat(kept["iou"]), torch.cat(kept["stab"])
            order = batched_nms(
                boxes.float(), iou, torch.zeros_like(boxes[:, 0]), iou_threshold=settings.box_nms_thresh
            )
            timings["nms"] = time.perf_counter() - start
            return Proposals(
                masks[order].cpu().numpy(),
                boxes[order].cpu().numpy().astype(int),
                iou[order].float().cpu().numpy(),
                stability[order].float().cpu().numpy(),
                timings,
                np.concatenate(kept["points"])[order.cpu().numpy()],
            )

    @torch.inference_mode()
    def masks_for_boxes(self, boxes: np.ndarray | list, max_side: int = 1024) -> Proposals:
        """One mask per box (x0, y0, x1, y1 in pixels of the image given to `set_image`), at the working
        size (long side <= `max_side`), in the boxes' order: the single-mask output SAM gives a box prompt
        (as `predict(box=...)` with multimask off), through the reordered decoder, all boxes in one batch.
        Text-prompted proposals (engine/filter/grounded.py) decode a detector's boxes with it."""
        with self._lock:
            self._require_image()
            model, predictor = self.model, self.predictor
            height, width = working_size(*predictor.original_size, max_side)
            boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
            if len(boxes) == 0:
                empty = np.zeros((0, height, width), bool)
                return Proposals(
                    empty, np.zeros((0, 4), int), np.zeros(0, np.float32), np.zeros(0, np.float32)
                )
            start = time.perf_counter()
            xyxy = predictor.transform.apply_boxes(boxes, predictor.original_size)
            box_t = torch.as_tensor(xyxy, dtype=torch.float, device=self.device)
            sparse, _ = model.prompt_encoder(points=None, boxes=box_t, masks=None)  # float32 coordinates
            decoder, precision = self.prompt_decoder()
            with precision:  # the no-mask image side, shared with the canvas's clicks
                low_res, iou = decode_all(decoder, self._prepare_no_mask(), sparse)
            low_res, iou = low_res[:, 0].float(), iou[:, 0].float()  # mask 0: the single-mask output
            middle = time.perf_counter()
            logits = upscale_logits(model, low_res, predictor.input_size, (height, width))
            stability = calculate_stability_score(logits, model.mask_threshold, 1.0)
            masks = logits > model.mask_threshold
            found = batched_mask_to_box(masks)
            timings = {"decode": middle - start, "postprocess": time.perf_counter() - middle}
            return Proposals(
                masks.cpu().numpy(),
                found.cpu().numpy().astype(int),
                iou.cpu().numpy(),
                stability.float().cpu().numpy(),
                timings,
            )
