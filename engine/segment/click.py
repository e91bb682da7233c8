"""The canvas's click: one prompt's mask in milliseconds once the image's embedding is known.

segment_anything's `SamPredictor.predict` runs the full decoder over a copy of the image tokens per prompt
and upscales all three candidate masks to full size (two bilinear resizes of 24 M pixels each for a 24 MP
photo) before the caller picks one. Here:

- the decoder is engine/segment/decoder.py's reordered one: the image side of its first layer is
  projected once per image (`prepare_image`, cached by the session), so a click costs the prompt side;
- the best mask is chosen on the 256 x 256 low-resolution logits (by predicted IoU, as the predictor's
  caller does), and only that one is upscaled;
- it is upscaled only where it can be positive: bilinear interpolation is a convex combination of four
  logits, so an output pixel whose four source logits are all below the threshold is below it too. The
  window around the positive logits is interpolated exactly as `F.interpolate(bilinear,
  align_corners=False)` would (the same source coordinates and weights), the rest is background.

```python
found = click_mask(model, low_res, input_size, original_size)   # ClickMask: a window of a full mask
full = found.full()                                               # HxW bool, if a caller needs it
```
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ClickMask:
    """SAM's chosen mask for one prompt: `window` (h x w bool) at `offset` (y, x) in an image of `size_hw`;
    False outside it. `low_res` (1 x 256 x 256 float32 logits) feeds a refinement click back to SAM."""

    size_hw: tuple[int, int]
    offset: tuple[int, int]
    window: np.ndarray
    score: float
    low_res: np.ndarray

    def full(self) -> np.ndarray:
        """The whole HxW bool mask."""
        mask = np.zeros(self.size_hw, bool)
        y, x = self.offset
        mask[y : y + self.window.shape[0], x : x + self.window.shape[1]] = self.window
        return mask

    def paste(self, base: np.ndarray, value: int) -> np.ndarray:
        """`base` (HxW uint8) with `value` where the mask is set; only the window is touched."""
        out = base.copy()
        y, x = self.offset
        h, w = self.window.shape
        region = out[y : y + h, x : x + w]
        region[self.window] = value
        return out


def _source_axis(in_size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyTorch's bilinear (align_corners=False) source indices and weights for every output position:
    (i0, i1, weight of i1), as aten's area_pixel_compute_source_index does."""
    scale = in_size / out_size
    src = ((torch.arange(out_size, dtype=torch.float32) + 0.5) * scale - 0.5).clamp_(min=0.0)
    i0 = src.long().clamp_(max=in_size - 1)
    i1 = (i0 + 1).clamp_(max=in_size - 1)
    return i0, i1, src - i0


def _span(i0: torch.Tensor, i1: torch.Tensor, first: int, last: int) -> tuple[int, int]:
    """The output range whose source pixels touch [first, last] (empty as (0, 0))."""
    touches = ((i0 >= first) & (i0 <= last)) | ((i1 >= first) & (i1 <= last))
    where = torch.nonzero(touches).flatten()
    return (0, 0) if len(where) == 0 else (int(where[0]), int(where[-1]) + 1)


def resize_positive(logits: torch.Tensor, size_hw: tuple[int, int], threshold: float = 0.0):
    """`F.interpolate(logits, size_hw, bilinear) > threshold` for h x w logits, computed only in the window
    that can be positive. Returns ((y, x) offset, window bool tensor)."""
    in_h, in_w = logits.shape
    positive = logits > threshold
    rows = torch.nonzero(positive.any(1)).flatten()
    if len(rows) == 0:
        return (0, 0), torch.zeros((0, 0), dtype=torch.bool)
    cols = torch.nonzero(positive.any(0)).flatten()
    y0y, y1y, wy = _source_axis(in_h, size_hw[0])
    x0x, x1x, wx = _source_axis(in_w, size_hw[1])
    top, bottom = _span(y0y, y1y, int(rows[0]), int(rows[-1]))
    left, right = _span(x0x, x1x, int(cols[0]), int(cols[-1]))
    y0y, y1y, wy = y0y[top:bottom], y1y[top:bottom], wy[top:bottom, None]
    x0x, x1x, wx = x0x[left:right], x1x[left:right], wx[left:right]
    # Only the source columns the window reads, then rows, then columns: separable, in float32.
    c_lo, c_hi = int(x0x.min()), int(x1x.max()) + 1
    src = logits[:, c_lo:c_hi].float()
    band = torch.lerp(src[y0y], src[y1y], wy)  # window rows x source columns
    window = torch.lerp(band[:, x0x - c_lo], band[:, x1x - c_lo], wx) > threshold
    return (top, left), window


def click_mask(
    model, low_res: torch.Tensor, input_size: tuple[int, int], original_size: tuple[int, int], score: float
) -> ClickMask:
    """`Sam.postprocess_masks(low_res) > mask_threshold` for one 4h x 4w logit map, as a window.

    As the library: bilinear to the encoder's square input, crop the padding (`input_size`), bilinear to
    `original_size`; the second resize only where the mask can be."""
    side = model.image_encoder.img_size
    low = low_res.float().reshape(1, 1, *low_res.shape[-2:])
    padded = F.interpolate(low, (side, side), mode="bilinear", align_corners=False)[0, 0]
    logits = padded[: input_size[0], : input_size[1]]
    threshold = float(model.mask_threshold)
    if tuple(logits.shape) == tuple(original_size):  # the library's second resize is the identity
        positive = logits > threshold
        rows, cols = torch.nonzero(positive.any(1)).flatten(), torch.nonzero(positive.any(0)).flatten()
        if len(rows) == 0:
            offset, window = (0, 0), torch.zeros((0, 0), dtype=torch.bool)
        else:
            offset = (int(rows[0]), int(cols[0]))
            window = positive[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    else:
        offset, window = resize_positive(logits, tuple(original_size), threshold)
    return ClickMask(
        (int(original_size[0]), int(original_size[1])),
        offset,
        window.cpu().numpy(),
        score,
        low_res.float().reshape(1, *low_res.shape[-2:]).cpu().numpy(),
    )
