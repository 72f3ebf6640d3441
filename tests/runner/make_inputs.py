#!/usr/bin/python3
"""tests/runner/make_inputs.py DEST — the deterministic inputs of the model tests and benchmarks.

Writes, as float32 .npy (fixed seeds: the same bytes on every machine with numpy >= 1.17):
  DEST/det_x.npy           1x3x640x640  a synthetic page: lines of glyph-like dark strokes on a
                           light, noisy background, normalized as PaddleOCR's detector expects
                           ((v - ImageNet mean) / ImageNet std); the detector finds text in it
  DEST/rec_x.npy           1x3x48x320   one text line, normalized (v - 0.5) / 0.5
  DEST/cls_x.npy           1x3x48x192   one text line, normalized (v - 0.5) / 0.5
  DEST/superres_input.npy  1x1x224x224  a Y channel in [0, 1] (smooth shading, shapes, noise)
Existing files are kept (delete DEST to make them again)."""
import os
import sys

import numpy as np


def text_page(h, w, rng, line_h=(14, 32), gap=(20, 60), top=30):
    """Light background, dark glyph-like strokes in lines; values in [0, 1], shape (3, h, w)."""
    img = np.full((3, h, w), 0.92) + rng.normal(0.0, 0.02, (3, h, w))
    y = top
    while y < h - line_h[0] - 2:
        lh = int(rng.integers(line_h[0], line_h[1]))
        lh = min(lh, h - y - 2)
        x = int(rng.integers(4, max(5, w // 8)))
        xend = int(rng.integers(w // 2, w - 4))
        ink = rng.uniform(0.0, 0.25)
        while x < xend:
            gw = max(3, int(lh * rng.uniform(0.5, 0.9)))
            t = max(2, lh // 8)
            for _ in range(3):
                if rng.random() < 0.5:
                    yy = y + int(rng.integers(0, max(1, lh - t)))
                    img[:, yy:yy + t, x:x + gw] = ink
                else:
                    xx = x + int(rng.integers(0, max(1, gw - t)))
                    img[:, y:y + lh, xx:xx + t] = ink
            x += gw + max(1, int(lh * 0.25))
            if rng.random() < 0.1:
                x += lh
        y += lh + int(rng.integers(gap[0], gap[1]))
    return np.clip(img, 0.0, 1.0)


def det_input(rng):
    img = text_page(640, 640, rng)
    mean = np.array([0.485, 0.456, 0.406])[:, None, None]
    std = np.array([0.229, 0.224, 0.225])[:, None, None]
    return ((img - mean) / std)[None]


def line_input(w, rng):
    img = text_page(48, w, rng, line_h=(30, 38), gap=(100, 101), top=6)
    return ((img - 0.5) / 0.5)[None]


def superres_input(rng):
    h = w = 224
    y = np.linspace(0.0, 1.0, h)[:, None]
    x = np.linspace(0.0, 1.0, w)[None, :]
    img = 0.5 + 0.25 * np.sin(2 * np.pi * (1.3 * x + 0.7 * y)) * np.cos(2 * np.pi * 0.9 * y)
    for _ in range(12):
        r = rng.uniform(5, 30)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w]
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 1)
    img += rng.normal(0.0, 0.03, img.shape)
    return np.clip(img, 0.0, 1.0)[None, None]


MAKERS = {
    "det_x": lambda rng: det_input(rng),
    "rec_x": lambda rng: line_input(320, rng),
    "cls_x": lambda rng: line_input(192, rng),
    "superres_input": lambda rng: superres_input(rng),
}


def main():
    if len(sys.argv) != 2:
        print("usage: make_inputs.py DEST", file=sys.stderr)
        return 2
    dest = sys.argv[1]
    os.makedirs(dest, exist_ok=True)
    for i, (name, make) in enumerate(MAKERS.items()):
        path = os.path.join(dest, name + ".npy")
        if os.path.exists(path):
            continue
        v = make(np.random.default_rng(1000 + i)).astype(np.float32)
        np.save(path + ".part.npy", v)
        os.replace(path + ".part.npy", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
