#!/usr/bin/env python3
"""Decode and resize images with PIL as torchvision's default loader does, for
fmam's PIL parity test (internal/data, FMAM_PIL_REF).

For every image it writes, as uint8 .npy arrays:
  <k>_full_rgb.npy  (H, W, 3)  Image.open(p).convert("RGB")
  <k>_full_L.npy    (H, W)     Image.open(p).convert("L")
  <k>_<S>_rgb.npy   (S, S, 3)  ... .convert("RGB").resize((S, S), Image.BILINEAR)
  <k>_<S>_L.npy     (S, S)     ... .convert("L").resize((S, S), Image.BILINEAR)
and manifest.json naming the images (absolute paths), the sizes and the PIL
version. Then run:

  FMAM_PIL_REF=<out> go test ./internal/data -run PILReference -v

Usage: pil_reference.py --out DIR [--size 64 --size 256] [IMAGE ...]
Without images it takes eight frames of ../shared/data/ped2 (run from the
repository root).
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

PED2_FRAMES = [
    "training/frames/01/000.jpg",
    "training/frames/01/060.jpg",
    "training/frames/05/100.jpg",
    "training/frames/10/017.jpg",
    "testing/frames/01/150.jpg",
    "testing/frames/02/090.jpg",
    "testing/frames/04/030.jpg",
    "testing/frames/06/170.jpg",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for the .npy files and manifest.json")
    ap.add_argument("--size", type=int, action="append", help="square output size (repeatable; default 64 and 256)")
    ap.add_argument("images", nargs="*", help="image files (default: eight Ped2 frames)")
    args = ap.parse_args()
    sizes = args.size or [64, 256]
    images = args.images
    if not images:
        root = os.path.join("..", "shared", "data", "ped2")
        images = [os.path.join(root, f) for f in PED2_FRAMES]
    missing = [p for p in images if not os.path.isfile(p)]
    if missing:
        sys.exit("pil_reference.py: not found: %s (run from the repository root, or name the images)" % ", ".join(missing))
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for k, path in enumerate(images):
        with Image.open(path) as im:
            im.load()
            modes = {"rgb": im.convert("RGB"), "L": im.convert("L")}
        for mode, img in modes.items():
            np.save(os.path.join(args.out, "%d_full_%s.npy" % (k, mode)), np.asarray(img, dtype=np.uint8))
            for s in sizes:
                r = img.resize((s, s), Image.BILINEAR)
                np.save(os.path.join(args.out, "%d_%d_%s.npy" % (k, s, mode)), np.asarray(r, dtype=np.uint8))
        entries.append({"key": k, "path": os.path.abspath(path)})
    manifest = {"pillow": Image.__version__, "sizes": sizes, "images": entries}
    tmp = os.path.join(args.out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(args.out, "manifest.json"))
    print("wrote %d images x %d sizes to %s (Pillow %s)" % (len(entries), len(sizes), args.out, Image.__version__))


if __name__ == "__main__":
    main()
