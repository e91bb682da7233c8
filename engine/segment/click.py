"""The canvas's click: one prompt's mask in milliseconds once the image's embedding is known.

segment_anything's `SamPredictor.predict` runs the full decoder over a copy of the image tokens per prompt
and upscales all three candidate masks to full size (two bilinear resizes of 24 M pixels each for a 24 MP
photo) before the caller picks one. Here:

- the decoder is engine/segment/decoder.py's reordered one: the image side of its first layer is
  projected once per image (`prepare_image`, cached by the session), so a click costs the prompt side;
- the best mask is chosen on the 256 x 256 low-resolution logits (by predicted IoU, as the predictor's
  caller does), and only that one is upscaled;
- it is upscaled only where the answer is in doubt: bilinear interpolation is a convex combination of
  four logits, so an output pixel whose four source logits are all below the threshold is below it too,
  and one whose four are all above is above. Output tiles inside or outside the mask are filled or
  skipped; tiles across its edge are interpolated exactly as `F.interpolate(bilinear,
  align_corners=False)` would (the same source coordinates and weights);
- a mask with edges all over (many edge tiles) is upscaled whole by OpenCV's fixed-point bilinear resize
  of the logits as 16-bit integers (the same source coordinates; 11-bit weights, logits to ~1/2000 of
  the largest), about 6x less time than float32 for a 24 MP photo; a few pixels in 100,000 on the very
  edge can differ from float32 interpolation;
- the mask is kept as uint8 0/255, so that pasting it is one max (add) or saturating subtract (cut)
  over its window.

```python
found = click_mask(model, low_res, input_size, original_size)   # ClickMask: a window of a full mask
full = found.full()                                               # HxW bool, if a caller needs it
```
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ClickMask:
    """SAM's chosen mask for one prompt: `window` (h x w uint8, 255 in the mask, 0 outside) at `offset`
    (y, x) in an image of `size_hw`; outside the window nothing is in the mask. `low_res` (1 x 256 x 256
    float32 logits) feeds a refinement click back to SAM."""

    size_hw: tuple[int, int]
    offset: tuple[int, int]
    window: np.ndarray
    score: float
    low_res: np.ndarray

    def full(self) -> np.ndarray:
        """The whole HxW bool mask."""
        mask = np.zeros(self.size_hw, bool)
        y, x = self.offset
        mask[y : y + self.window.shape[0], x : x + self.window.shape[1]] = self.window > 0
        return mask

    def paste(self, base: np.ndarray, value: int) -> np.ndarray:
        """`base` (HxW uint8) set to 255 (`value` 255) or to 0 (`value` 0) where the mask is set; only the
        window is touched."""
        if value not in (0, 255):
            raise ValueError(f"a SAM mask is pasted as 255 (add) or 0 (cut), not {value}")
        y, x = self.offset
        h, w = self.window.shape
        if (h, w) == base.shape and value == 255:  # a whole-image window: one pass, no copy first
            return np.maximum(base, self.window)
        out = base.copy()
        region = out[y : y + h, x : x + w]
        if h and w and value == 255:
            np.maximum(region, self.window, out=region)
        elif h and w:  # saturating: base - 255 = 0 where set, base - 0 elsewhere
            region[...] = cv2.subtract(region, self.window)
        return out


def _source_axis(in_size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyTorch's bilinear (align_corners=False) source indices and weights for every output position:
    (i0, i1, weight of i1), as aten's area_pixel_compute_source_index does."""
    scale = in_size / out_size
    src = ((torch.arange(out_size, dtype=torch.float32) + 0.5) * scale - 0.5).clamp_(min=0.0)
    i0 = src.long().clamp_(max=in_size - 1)
    i1 = (i0 + 1).clamp_(max=in_size - 1)
    return i0, i1, src - i0


TILE = 128  # output pixels a side: a tile is filled, skipped or interpolated as a whole
# Above this share of edge tiles, interpolating them in float32 costs more than one fixed-point resize of
# the whole image (measured on a 24 MP photo: a product-shaped mask has ~5% edge tiles and costs 24 ms as
# tiles, 13 ms whole).
EDGE_SHARE = 0.03
FIXED_POINT_RANGE = 32000  # the largest |logit| maps to this many 16-bit steps from the middle


def _tile_extremes(cell: np.ndarray, starts_y: np.ndarray, starts_x: np.ndarray, reduce) -> np.ndarray:
    """`reduce` (np.maximum / np.minimum) of `cell` over each tile's source rectangle, conservatively: a
    tile's rectangle runs from its start to the next tile's start, inclusive (the two may share a row)."""
    # Along x first: numpy's reduceat along the first axis of a large array is ~4x slower.
    cols = reduce.reduceat(cell, starts_x, axis=1)
    cols[:, :-1] = reduce(cols[:, :-1], cell[:, starts_x[1:]])
    tiles = reduce.reduceat(cols, starts_y, axis=0)
    tiles[:-1] = reduce(tiles[:-1], cols[starts_y[1:]])
    return tiles


# The fixed-point resize's 16-bit output, kept between clicks per thread: a fresh 48 MB array a 24 MP click
# cost ~5 ms of page faults, as much as the resize itself.
_scratch = threading.local()


def _resize_fixed_point(source: np.ndarray, size_hw: tuple[int, int], threshold: float) -> np.ndarray:
    """`bilinear resize > threshold` as uint8 0/255, through OpenCV's 16-bit fixed-point resize (the same
    half-pixel source coordinates as F.interpolate(align_corners=False), edge pixels repeated)."""
    centred = source - np.float32(threshold)
    largest = float(np.abs(centred).max()) or 1.0
    steps = np.rint(centred * (FIXED_POINT_RANGE / largest)) + 32768
    resized = getattr(_scratch, "resized", None)
    if resized is None or resized.shape != tuple(size_hw):
        resized = _scratch.resized = np.empty(size_hw, np.uint16)
    cv2.resize(steps.astype(np.uint16), size_hw[::-1], dst=resized, interpolation=cv2.INTER_LINEAR)
    return cv2.compare(resized, 32768, cv2.CMP_GT)


def resize_positive(logits: torch.Tensor, size_hw: tuple[int, int], threshold: float = 0.0):
    """`F.interpolate(logits, size_hw, bilinear, align_corners=False) > threshold` for h x w logits,
    interpolated only where the answer is in doubt. Returns ((y, x) offset, window h' x w' uint8 array,
    255 where positive).

    An output pixel is a convex combination of the 2 x 2 source logits at (i0, i0 + 1) in each axis.
    Per output tile of TILE x TILE: if every such logit it reads is above the threshold the tile is set,
    if none is it stays clear; only tiles across the mask's edge are interpolated (in float32, with
    aten's source coordinates and weights). A mask with many edge tiles is resized whole in fixed point
    (`_resize_fixed_point`)."""
    out_h, out_w = size_hw
    source = logits.float()
    y0, y1, wy = _source_axis(source.shape[0], out_h)
    x0, x1, wx = _source_axis(source.shape[1], out_w)
    # The extremes of each source cell's 2 x 2 neighbourhood (i0, i0 + 1), edge rows repeated: a 2 x 2
    # dilation / erosion anchored at the cell.
    source_np = source.numpy()
    square = np.ones((2, 2), np.uint8)
    high = cv2.dilate(source_np, square, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    low = cv2.erode(source_np, square, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    tops, lefts = np.arange(0, out_h, TILE), np.arange(0, out_w, TILE)
    starts_y, starts_x = y0.numpy()[tops], x0.numpy()[lefts]
    has_positive = _tile_extremes(high, starts_y, starts_x, np.maximum) > threshold
    all_positive = _tile_extremes(low, starts_y, starts_x, np.minimum) > threshold
    if not has_positive.any():
        return (0, 0), np.zeros((0, 0), np.uint8)
    if (has_positive & ~all_positive).mean() > EDGE_SHARE:  # edges all over: one whole resize is cheaper
        return (0, 0), _resize_fixed_point(source_np, (out_h, out_w), threshold)
    rows, cols = np.nonzero(has_positive.any(1))[0], np.nonzero(has_positive.any(0))[0]
    top, left = int(tops[rows[0]]), int(lefts[cols[0]])
    bottom, right = min(int(tops[rows[-1]]) + TILE, out_h), min(int(lefts[cols[-1]]) + TILE, out_w)
    window = np.zeros((bottom - top, right - left), np.uint8)  # 0/1 here, 0/255 on return
    # The edge tiles in numpy: single-threaded small products, no thread-pool hand-offs per slice.
    y0_np, y1_np, wy_np = y0.numpy(), y1.numpy(), wy.numpy()
    x0_np, x1_np, wx_np = x0.numpy(), x1.numpy(), wx.numpy()
    for r in rows:
        ys = slice(int(tops[r]) - top, min(int(tops[r]) + TILE, out_h) - top)
        out_rows = slice(ys.start + top, ys.stop + top)
        band = None
        # Runs of neighbouring tiles of one kind, each filled or interpolated as one slice.
        kinds = np.where(all_positive[r], 2, has_positive[r].astype(int))  # 0 clear, 1 edge, 2 inside
        bounds = np.flatnonzero(np.diff(kinds)) + 1
        for first, last in zip(np.r_[0, bounds], np.r_[bounds, len(kinds)], strict=True):
            kind = kinds[first]
            if kind == 0:
                continue
            x_start, x_stop = int(lefts[first]), min(int(lefts[last - 1]) + TILE, out_w)
            target = (ys, slice(x_start - left, x_stop - left))
            if kind == 2:
                window[target] = True
                continue
            if band is None:  # this tile row's source rows, interpolated once
                lam = wy_np[out_rows, None]
                band = (1.0 - lam) * source_np[y0_np[out_rows]] + lam * source_np[y1_np[out_rows]]
            xs = slice(x_start, x_stop)
            lam = wx_np[xs]
            window[target] = ((1.0 - lam) * band[:, x0_np[xs]] + lam * band[:, x1_np[xs]]) > threshold
    return (top, left), np.multiply(window, 255, out=window)


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
        positive = logits.cpu().numpy() > threshold
        rows, cols = np.flatnonzero(positive.any(1)), np.flatnonzero(positive.any(0))
        if len(rows) == 0:
            offset, window = (0, 0), np.zeros((0, 0), np.uint8)
        else:
            offset = (int(rows[0]), int(cols[0]))
            window = positive[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.uint8) * 255
    else:
        offset, window = resize_positive(logits.cpu(), tuple(original_size), threshold)
    return ClickMask(
        (int(original_size[0]), int(original_size[1])),
        offset,
        window,
        score,
        low_res.float().reshape(1, *low_res.shape[-2:]).cpu().numpy(),
    )
