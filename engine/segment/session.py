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

import contextlib
import copy
import hashlib
import threading
from typing import Any

import numpy as np
import torch
from segment_anything import SamPredictor

from engine.runtime.device import choose_precision, precision_name, torch_threads
from engine.runtime.embedding_cache import EmbeddingCache
from engine.segment.click import ClickMask, click_mask
from engine.segment.decoder import PreparedImage, decode_best, prepare_changed_image, prepare_image
from engine.segment.encoder import accelerate_encoder, autocast, encode
from engine.segment.encoder import compile_encoder as compiled_encoder
from engine.segment.proposals import Proposals as Proposals  # re-exported: where callers import them
from engine.segment.proposals import ProposalSettings as ProposalSettings
from engine.segment.proposals import ProposalsMixin
from engine.segment.proposals import working_size as working_size


def sam_model_key(registry: Any) -> str:
    """Identifies the SAM weights (path, size, mtime, variant) without hashing a 375 MB file."""
    from engine.models.locate import resolve

    spec = registry.config.spec("sam")
    path = resolve(spec, want_dir=False)
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{sorted(spec.options.items())}"
    return "sam-" + hashlib.sha1(text.encode()).hexdigest()[:12]


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


class SamSession(ProposalsMixin):
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
        self._bf16_decoder: Any = None  # made on the first click in bf16 on the CPU (`prompt_decoder`)
        self._dense_pe: torch.Tensor | None = None  # the decoder's positional encoding, made once
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
                # The prompt encoder works on pixel coordinates: float32, outside autocast. Its dense
                # prompt is the no-mask embedding (the cached image side) or the mask's (`_prepare_mask`).
                sparse, _ = model.prompt_encoder(points=coords, boxes=box_t, masks=None)
                decoder, precision = self.prompt_decoder()
                with precision:
                    prepared = self._prepare_no_mask() if mask_t is None else self._prepare_mask(mask_t)
                    low_res, iou = decode_best(decoder, prepared, sparse, multimask)
            return click_mask(
                model, low_res.float(), predictor.input_size, predictor.original_size, float(iou)
            )

    def prompt_decoder(self) -> tuple[Any, Any]:
        """(mask decoder, precision context) for clicks and boxes.

        On a bf16 CPU: a bf16 copy of the decoder (8 MB), run as it is. Under autocast every linear layer
        re-cast its weights and the 4,096 image tokens between bf16 and the float32 of the layer norms on
        every click: ~20% of a click's time (bench_click.py). Elsewhere the model's decoder under autocast
        in the session's precision."""
        if self.device.type == "cpu" and self.dtype == torch.bfloat16:
            if self._bf16_decoder is None:
                self._bf16_decoder = copy.deepcopy(self.model.mask_decoder).to(torch.bfloat16)
            return self._bf16_decoder, contextlib.nullcontext()
        return self.model.mask_decoder, autocast(self.device, self.dtype)

    @torch.inference_mode()
    def ready_for_prompts(self) -> None:
        """Make what every click shares ahead of the first one (on loading SAM): the decoder in the click's
        precision (the bf16 copy: ~17 ms) and its positional encoding (~0.3 s on its first call)."""
        with self._lock:
            self._positional_encoding()

    def _positional_encoding(self) -> torch.Tensor:
        """The decoder's dense positional encoding in `prompt_decoder`'s dtype: a constant of the model,
        made once (sin/cos, ~2 ms a call once warm)."""
        decoder, _ = self.prompt_decoder()
        dtype = decoder.iou_token.weight.dtype
        if self._dense_pe is None or self._dense_pe.dtype != dtype:
            self._dense_pe = self.model.prompt_encoder.get_dense_pe().to(dtype)
        return self._dense_pe

    def _prepare_no_mask(self) -> PreparedImage:
        """The image side for prompts without a mask (engine/segment/decoder.prepare_image), made once per
        image and kept."""
        if self._prepared is None:
            decoder, _ = self.prompt_decoder()
            no_mask = self.model.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
            tokens = (self.predictor.features + no_mask).to(decoder.iou_token.weight.dtype)
            self._prepared = prepare_image(decoder.transformer, tokens, self._positional_encoding())
        return self._prepared

    def _prepare_mask(self, mask: torch.Tensor) -> PreparedImage:
        """The image side with a mask prompt (1 x 1 x 256 x 256 logits) as the dense prompt: the no-mask
        side plus the change of the mask encoder's last 1 x 1 convolution (decoder.prepare_changed_image)."""
        decoder, _ = self.prompt_decoder()
        dtype = decoder.iou_token.weight.dtype
        encoder = self.model.prompt_encoder
        *downscale, last = encoder.mask_downscaling
        channels = torch.nn.Sequential(*downscale)(mask)  # 1 x 16 x 64 x 64
        change = channels.flatten(2)[0].T  # N x 16
        up = last.weight[:, :, 0, 0].T  # 16 x C
        shift = last.bias - encoder.no_mask_embed.weight[0]
        base = self._prepare_no_mask()
        return prepare_changed_image(
            decoder.transformer, base, change.to(dtype), up.to(dtype), shift.to(dtype)
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
