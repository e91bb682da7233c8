"""Segment Anything, split the way the library splits it: an expensive embedding once per image (cached on
disk, shared by the product filter and the mask canvas), then cheap decoding of prompts.

```python
session = SamSession(registry, store.embeddings)     # store: engine.store.ProjectStore
session.set_image(image_id, rgb)                     # rgb: HxWx3 uint8, upright; image_id: content hash
masks, scores, low_res = session.predict(points=[[x, y]], labels=[1])   # clicks, in pixels of rgb
proposals = session.propose(ProposalSettings())      # automatic masks over a point grid (batched)
```

Thread-agnostic: a lock serialises use, and nothing here knows about Qt. Run it on the engine thread.
`predict`/`propose` before `set_image` raise a clear error (as segment_anything's predictor does).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything import SamPredictor
from segment_anything.utils.amg import (
    batch_iterator,
    batched_mask_to_box,
    build_all_layer_point_grids,
    calculate_stability_score,
)
from torchvision.ops import batched_nms

from engine.runtime.device import choose_precision, precision_name, torch_threads
from engine.runtime.embedding_cache import EmbeddingCache
from engine.segment.click import ClickMask, click_mask
from engine.segment.decoder import (
    PreparedImage,
    decode_all,
    prepare_image,
    two_way_transformer,
    upscale_masks,
)
from engine.segment.encoder import accelerate_encoder, autocast, encode
from engine.segment.encoder import compile_encoder as compiled_encoder


def sam_model_key(registry: Any) -> str:
    """Identifies the SAM weights (path, size, mtime, variant) without hashing a 375 MB file."""
    from engine.models.locate import resolve

    spec = registry.config.spec("sam")
    path = resolve(spec, want_dir=False)
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{sorted(spec.options.items())}"
    return "sam-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def default_points_per_batch(device: torch.device, dtype: torch.dtype) -> int:
    """Prompts per decoder batch for automatic masks: 256 on a GPU; on the CPU what
    tests/benchmarks/bench_filter_batches.py measured fastest a point on a 2-core Zen 4 (vit_b; CPU ms a
    point at batch 1 / 4 / 16 / 64, decoder + upscaling of the masks that pass, 8² points, load ~3):
    fp32 189 (warm-up included) / 27.7 / 30.0 / 41.7; bf16 45.8 / 17.8 / 17.6 / 23.9. Past 16 prompts
    the per-prompt image tokens (4 MB each in fp32) no longer stay in the caches; below 4, each batch's
    token-side products are too small to pay for their thread hand-off. (The filter's proposals decode
    in fp32 on the CPU whatever the precision: `SamSession.proposal_decoder_dtype`.)"""
    if device.type != "cpu":
        return 256
    return 4 if dtype == torch.float32 else 16


@dataclass(frozen=True)
class ProposalSettings:
    """Automatic mask settings; the defaults are SamAutomaticMaskGenerator's (one crop layer, no crops)."""

    points_per_side: int = 32
    points_per_batch: int | None = None  # None: `default_points_per_batch` (measured per device, dtype)
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0
    box_nms_thresh: float = 0.7
    max_side: int = 1024  # proposals are made at this working resolution (SAM's own input size)

    def key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.__dict__.items()) if k != "points_per_batch")


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


@torch.inference_mode()
def decode_passing(
    decoder: Any, prepared: PreparedImage, sparse: torch.Tensor, iou_thresh: float, with_prompts: bool = False
) -> tuple[torch.Tensor, ...]:
    """segment_anything's `MaskDecoder.predict_masks` (multimask) for B prompts without a mask prompt on
    one image (`prepare_image`), split where the IoU filter can act.

    The transformer (engine/sam_decoder.py: the library's modules, without a copy of the image per prompt)
    runs for every prompt and yields the predicted IoU; the mask upscaling then runs only for prompts with
    a mask above `iou_thresh`, since the automatic generator drops the others anyway.
    Returns (low-res logits M x 4h x 4w, predicted IoU M) of the masks that pass, and with `with_prompts`
    the index of the prompt of each (M)."""
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    output_tokens = output_tokens.unsqueeze(0).expand(sparse.size(0), -1, -1)
    tokens = torch.cat((output_tokens, sparse), dim=1)
    queries, keys = two_way_transformer(decoder.transformer, prepared, tokens)
    iou = decoder.iou_prediction_head(queries[:, 0, :])[:, 1:]  # multimask output: masks 1..3
    passing = iou > iou_thresh if iou_thresh > 0.0 else torch.ones_like(iou, dtype=torch.bool)
    rows = passing.any(dim=1)
    h, w = prepared.grid_hw
    prompts = (passing.nonzero(as_tuple=True)[0],) if with_prompts else ()  # row-major: as masks[keep]
    if not bool(rows.any()):
        return torch.zeros((0, 4 * h, 4 * w), device=keys.device), iou.new_zeros(0), *prompts
    masks = upscale_masks(decoder, keys[rows], queries[rows], prepared.grid_hw)[:, 1:]
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


def precision_key(model_key: str, dtype: torch.dtype) -> str:
    """A model key for results made in `dtype`: fp32 keeps the plain key (caches made before precisions
    existed), others get a suffix, so embeddings and filter results of two precisions never mix."""
    return model_key if dtype == torch.float32 else f"{model_key}-{precision_name(dtype)}"


# Intra-op threads for a click's decoder on the CPU (engine/runtime/device.torch_threads). Its ops are small:
# measured on 2 cores (1024x768 point, bf16), quiet: 28 ms on one thread against 22 ms on two; at load 5:
# 100 ms against 323 ms, since every op waits for a descheduled second thread. One is the safe choice.
CLICK_CPU_THREADS = 1


def click_threads(device: torch.device):
    """The thread limit a click runs under: CLICK_CPU_THREADS on the CPU, the process's own elsewhere."""
    return torch_threads(CLICK_CPU_THREADS if device.type == "cpu" else torch.get_num_threads())


class SamSession:
    """SAM for one image at a time, with embeddings cached by (image content hash, model, precision).

    `precision`: auto|fp32|bf16|fp16 (engine/runtime/device.choose_precision; the engine passes its
    setting, default auto); the encoder and decoder run
    under autocast in it, the prompt encoder (pixel coordinates) always in float32."""

    def __init__(
        self,
        registry: Any,
        cache: EmbeddingCache | None = None,
        precision: str = "fp32",
        compile_encoder: bool = False,
    ):
        self.registry = registry
        self.cache = cache
        self.model = registry.sam()
        accelerate_encoder(self.model.image_encoder)  # fused attention, same weights (idempotent)
        # torch.compile'd encoder for batches (engine/segment/encoder.compile_encoder): ~15% less time an
        # image on a 2-core Zen 4 in bf16, after a ~2 minute build on the first image (cached by torch).
        self._encoding_model = compiled_encoder(self.model) if compile_encoder else self.model
        self.dtype = choose_precision(precision, self.model.device)
        self.model_key = precision_key(sam_model_key(registry), self.dtype)
        self.predictor = SamPredictor(self.model)
        self.image_id: str | None = None
        self._lock = threading.RLock()
        self.last_embed_from_cache = False
        self._prepared: PreparedImage | None = None  # the current image's decoder side, made on a click
        self._previous: tuple[Any, np.ndarray] | None = None  # (refinement key, low-res logits)

    @property
    def device(self) -> torch.device:
        return self.model.device

    # -- the expensive step --------------------------------------------------------------------
    @torch.inference_mode()
    def _compute(self, rgb: np.ndarray, check: Any = None) -> tuple[torch.Tensor, tuple[int, int]]:
        # As SamPredictor.set_image/set_torch_image: resize the long side, normalise, pad, encode.
        resized = self.predictor.transform.apply_image(rgb)
        tensor = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None]
        input_size = (int(tensor.shape[-2]), int(tensor.shape[-1]))
        features = encode(self._encoding_model, self.model.preprocess(tensor), self.dtype, check)
        return features, input_size

    def embed(self, image_id: str, rgb: np.ndarray, check: Any = None) -> bool:
        """Make sure the image's embedding is in the cache (prefetch); True if it already was.
        `check()` is called between encoder blocks (cancellation)."""
        with self._lock:
            if self.cache is not None and self.cache.get(image_id, self.model_key) is not None:
                return True
            features, input_size = self._compute(rgb, check)
            if self.cache is not None:
                self.cache.put(
                    image_id,
                    self.model_key,
                    {"features": features.float().cpu().numpy(), "input_size": np.array(input_size)},
                )
            return False

    def set_image(self, image_id: str, rgb: np.ndarray) -> None:
        """Make `rgb` (HxWx3 uint8, upright, full size) the current image, from the cache when possible."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"set_image expects HxWx3 uint8, got {rgb.shape} {rgb.dtype}")
        with self._lock:
            if self.image_id == image_id and self.predictor.is_image_set:
                return
            cached = self.cache.get(image_id, self.model_key) if self.cache is not None else None
            self.last_embed_from_cache = cached is not None
            if cached is not None:
                features = torch.from_numpy(cached["features"]).to(self.device)
                input_size = tuple(int(v) for v in cached["input_size"])
            else:
                features, input_size = self._compute(rgb)
                if self.cache is not None:
                    arrays = {"features": features.float().cpu().numpy(), "input_size": np.array(input_size)}
                    self.cache.put(image_id, self.model_key, arrays)
            self.predictor.reset_image()
            self.predictor.features = features
            self.predictor.original_size = rgb.shape[:2]
            self.predictor.input_size = input_size
            self.predictor.is_image_set = True
            self.image_id = image_id
            self._prepared = None
            self._previous = None

    def _require_image(self) -> None:
        if not self.predictor.is_image_set:
            raise RuntimeError("SamSession: call set_image(image_id, rgb) before predict/propose.")

    # -- cheap steps ---------------------------------------------------------------------------
    def predict(
        self,
        points: np.ndarray | list | None = None,
        labels: np.ndarray | list | None = None,
        box: np.ndarray | list | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks from clicks/a box, in pixels of the image given to `set_image`.

        points: N x 2 (x, y); labels: N (1 foreground, 0 background); box: (x0, y0, x1, y1);
        mask_input: 1 x 256 x 256 low-res logits (4x SAM's embedding grid) from an earlier call (refines it).
        Returns (masks C x H x W bool, scores C float, low_res_logits C x 256 x 256), best score first."""
        with self._lock:
            self._require_image()
            masks, scores, low_res = self.predictor.predict(
                point_coords=None if points is None else np.asarray(points, np.float32).reshape(-1, 2),
                point_labels=None if labels is None else np.asarray(labels, np.int64).reshape(-1),
                box=None if box is None else np.asarray(box, np.float32).reshape(4),
                mask_input=mask_input,
                multimask_output=multimask,
            )
        order = np.argsort(-scores)
        return masks[order], scores[order], low_res[order]

    @torch.inference_mode()
    def predict_click(
        self,
        points: np.ndarray | list | None = None,
        labels: np.ndarray | list | None = None,
        box: np.ndarray | list | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> ClickMask:
        """The canvas's click: `predict`'s best mask (the same inputs and pixels), in milliseconds.

        The decoder is the reordered one (engine/segment/decoder.py) with the image side prepared once per
        image; the best of the candidates is chosen on the low-resolution logits and only it is upscaled,
        only where it can be positive (engine/segment/click.py). Returns a `ClickMask`."""
        with self._lock:
            self._require_image()
            model, predictor = self.model, self.predictor
            coords = box_t = mask_t = None
            if points is not None:
                xy = predictor.transform.apply_coords(
                    np.asarray(points, np.float32).reshape(-1, 2), predictor.original_size
                )
                coords = (
                    torch.as_tensor(xy, dtype=torch.float, device=self.device)[None],
                    torch.as_tensor(np.asarray(labels).reshape(1, -1), dtype=torch.int, device=self.device),
                )
            if box is not None:
                xyxy = predictor.transform.apply_boxes(
                    np.asarray(box, np.float32).reshape(1, 4), predictor.original_size
                )
                box_t = torch.as_tensor(xyxy, dtype=torch.float, device=self.device)
            if mask_input is not None:
                mask_t = torch.as_tensor(mask_input, dtype=torch.float, device=self.device).reshape(
                    1, 1, *np.shape(mask_input)[-2:]
                )
            # The decoder's many small ops on one thread; the upscaling below (one large op) on all.
            with click_threads(self.device):
                # The prompt encoder works on pixel coordinates: float32, outside autocast.
                sparse, dense = model.prompt_encoder(points=coords, boxes=box_t, masks=mask_t)
                with autocast(self.device, self.dtype):
                    if mask_t is None:  # the dense prompt is the no-mask embedding: the cached image side
                        if self._prepared is None:
                            self._prepared = self._prepare(dense)
                        prepared = self._prepared
                    else:
                        prepared = self._prepare(dense)
                    low_res, iou = decode_all(model.mask_decoder, prepared, sparse)
            low_res, iou = low_res[0].float(), iou[0].float()
            best = int(iou[1:].argmax()) + 1 if multimask else 0
            return click_mask(
                model, low_res[best], predictor.input_size, predictor.original_size, float(iou[best])
            )

    def _prepare(self, dense: torch.Tensor) -> PreparedImage:
        model = self.model
        return prepare_image(
            model.mask_decoder.transformer,
            self.predictor.features + dense,
            model.prompt_encoder.get_dense_pe(),
        )

    def refine_input(self, key: Any) -> np.ndarray | None:
        """The low-res logits of the last click made with `refine_key=key` on this image, or None."""
        with self._lock:
            if self._previous is not None and self._previous[0] == key:
                return self._previous[1]
            return None

    def remember(self, key: Any, low_res: np.ndarray) -> None:
        """Keep a click's low-res logits for the next click of the same prompt session (`refine_input`)."""
        with self._lock:
            self._previous = (key, low_res)

    def proposal_decoder_dtype(self) -> torch.dtype:
        """The decoder's precision for automatic masks: fp16 on a GPU when asked, float32 on the CPU.

        On the CPU the predicted-IoU and stability thresholds are decided on float32 logits: with the
        decoder in bf16 the benchmark's region count moved by 11% (masks near the thresholds cross them),
        with only the embedding in bf16 by 1%; and the bf16 decoder was not faster here (autocast's casts
        of the per-prompt image tokens cost what the bf16 products save; bench_filter_batches.py)."""
        return self.dtype if self.device.type == "cuda" else torch.float32

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
                prepared = prepare_image(
                    model.mask_decoder.transformer,
                    predictor.features + no_mask,
                    model.prompt_encoder.get_dense_pe(),
                )
            kept: dict[str, list] = {"masks": [], "boxes": [], "iou": [], "stab": [], "points": []}
            timings = {"decode": 0.0, "postprocess": 0.0}
            batch_size = settings.points_per_batch or default_points_per_batch(self.device, decoder_dtype)
            for batch, normalised in batch_iterator(batch_size, points, grid):
                start = time.perf_counter()
                coords = torch.as_tensor(batch, dtype=torch.float, device=self.device)[:, None, :]
                labels = torch.ones(coords.shape[:2], dtype=torch.int, device=self.device)
                sparse, _ = model.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
                with autocast(self.device, decoder_dtype):
                    low_res, iou, prompt = decode_passing(
                        model.mask_decoder, prepared, sparse, settings.pred_iou_thresh, with_prompts=True
                    )
                low_res, iou = low_res.float(), iou.float()
                middle = time.perf_counter()
                timings["decode"] += middle - start
                for chunk in range(0, len(low_res), 64):  # bounded memory for full-size logits
                    logits = upscale_logits(
                        model, low_res[chunk : chunk + 64], predictor.input_size, (height, width)
                    )
                    stability = calculate_stability_score(
                        logits, model.mask_threshold, settings.stability_score_offset
                    )
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
                timings["postprocess"] += time.perf_counter() - middle
                if check is not None:
                    check()
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
            with autocast(self.device, self.dtype):
                if self._prepared is None:  # the no-mask image side, shared with the canvas's clicks
                    no_mask = model.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
                    self._prepared = self._prepare(no_mask)
                low_res, iou = decode_all(model.mask_decoder, self._prepared, sparse)
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
