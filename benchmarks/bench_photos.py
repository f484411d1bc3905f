"""The shipped CIFAR-10 colorizers on real photos: bilinear against guided upsampling of their chroma, and grey.

Each photo shipped with scikit-image (resized so its long side is at most --long-side px) is coloured the way
`colorkit colorize` does it (targets.predict_colors: the model sees the photo's L resized to --size, its chroma is
brought back onto the full-resolution L) with upsample="bilinear" and upsample="guided" (colorkit.upsample). Also
"guided full-res": bilinear, then the guided filter at full resolution (upsample_chroma(fast=False)). Per photo:

* colourfulness ratio: metrics.colorfulness of the result over the original's (1 = as colourful as the truth);
* colour error: metrics.rmse_ab, RMSE of Lab ab against the original's (color.rgb_to_lab of the clipped RGB);
  grey (ab = 0, the photo's own L) is the baseline: a colorizer that does not beat it adds wrong colour;
* the same colour error on edge pixels only (the 10 % with the largest L gradient), where bleeding shows.

It prints a table (median colourfulness ratio, mean and median colour error, photos coloured better than grey, mean
edge error) and writes, a model, one montage (original / grey / bilinear / guided, 4 photos) and one of zoomed
crops (each photo's quarter where bilinear and guided differ most) under --out.

    python benchmarks/bench_photos.py               # classifier 32, regressor 32, classifier 64, hints 32 (4 points)
    python benchmarks/bench_photos.py --runs classifier:32 --long-side 128 --photos astronaut chelsea
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from colorkit import color, hints as hint_maps, metrics, targets
from colorkit.colorizer import Colorizer
from colorkit.upsample import upsample_chroma

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "immunohistochemistry", "hubble_deep_field",
          "retina")  # the colour photos skimage.data holds offline (motorcycle: stereo_motorcycle's left view)
MONTAGE_PHOTOS = 4
EDGE_FRACTION = 0.1  # "edges": the 10 % of pixels with the largest L gradient
VARIANTS = ("bilinear", "guided", "guided full-res")


def load_photo(name: str, long_side: int) -> torch.Tensor:
    """A scikit-image photo as uint8 (1, 3, H, W), area-resized so its long side is at most long_side."""
    import skimage.data

    img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    x = torch.from_numpy(np.ascontiguousarray(img[..., :3])).permute(2, 0, 1)[None].float()
    scale = long_side / max(x.shape[-2:])
    if scale < 1:
        size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
        x = F.interpolate(x, size=size, mode="area")
    return x.round().clamp(0, 255).to(torch.uint8)


def colourings(c: Colorizer, img: torch.Tensor, size: int, points: int) -> dict[str, torch.Tensor]:
    """RGB (1, 3, H, W) in [0, 1]: grey and each upsampling of the model's chroma at size x size.

    Hint models get `points` true-colour 5 x 5 px patches of the photo (hints.random_hints, seeded) as hints."""
    rgb = color.uint8_to_float(img)
    lab = color.rgb_to_lab(rgb)
    L = lab[:, :1]
    out = {"grey": color.join_lab(L, torch.zeros_like(L).expand(-1, 2, -1, -1)).clamp(0, 1)}
    hints = None
    if hint_maps.hint_channels(c.model):
        hints = hint_maps.random_hints(lab[:, 1:], points, torch.Generator().manual_seed(0))
    for up in ("bilinear", "guided"):
        out[up] = targets.predict_colors(c.model, img, c.space, T=c.T, method=c.method, size=size, upsample=up,
                                         hints=hints)
    x = F.interpolate(L, size=(size, size), mode="bilinear", align_corners=False, antialias=True)  # as predict_colors
    low_hints = None if hints is None else hint_maps.resize_hints(*hints, (size, size))
    low = targets.predict_ab(c.model, x, T=c.T, method=c.method, hints=low_hints)
    out["guided full-res"] = color.join_lab(L, upsample_chroma(low, L, "guided", fast=False)).clamp(0, 1)
    bil = color.join_lab(L, upsample_chroma(low, L, "bilinear")).clamp(0, 1)
    assert torch.allclose(bil, out["bilinear"], atol=1e-5), "the low-resolution chroma differs from predict_colors'"
    return out


def edge_mask(true: torch.Tensor, fraction: float = EDGE_FRACTION) -> torch.Tensor:
    """(1, 1, H, W) bool: the fraction of pixels with the largest Lab L gradient (central differences)."""
    L = F.pad(color.rgb_to_lab(true)[:, :1], (1, 1, 1, 1), mode="replicate")
    grad = torch.hypot(L[..., 1:-1, 2:] - L[..., 1:-1, :-2], L[..., 2:, 1:-1] - L[..., :-2, 1:-1])
    return grad >= torch.quantile(grad.flatten(), 1 - fraction)


def measure(rgb: torch.Tensor, true: torch.Tensor, edges: torch.Tensor) -> tuple[float, float, float]:
    """(colourfulness ratio to the original, RMSE of Lab ab against it, the same RMSE on edge pixels only)."""
    scores = metrics.against_original(rgb, true)  # the same scores as notebook 07's photo table
    err = (color.rgb_to_lab(rgb)[:, 1:] - color.rgb_to_lab(true)[:, 1:]).square().sum(1, keepdim=True)
    return scores["colourfulness"], scores["rmse_ab"], err[edges].mean().sqrt().item()


def zoom_box(a: torch.Tensor, b: torch.Tensor, grid: int = 4) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the cell of a grid x grid split where RGB a and b differ most."""
    h, w = a.shape[-2] // grid, a.shape[-1] // grid
    diff = (a - b).abs().sum(1)[0, :h * grid, :w * grid].reshape(grid, h, grid, w).mean((1, 3))
    i, j = divmod(int(diff.argmax()), grid)
    return i * h, j * w, h, w


def time_upsampling(img: torch.Tensor, size: int = 32, repeats: int = 3) -> str:
    """Best-of-repeats seconds to bring (1, 2, size, size) chroma onto the photo's L, each way."""
    L = color.rgb_to_lab(color.uint8_to_float(img))[:, :1]
    low = torch.randn(1, 2, size, size, generator=torch.Generator().manual_seed(0)) * 20
    ways = {"bilinear": {"method": "bilinear"}, "guided": {}, "guided full-res": {"fast": False}}
    best = {}
    for k, kw in ways.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            upsample_chroma(low, L, **kw)
            times.append(time.perf_counter() - t0)
        best[k] = min(times)
    return ", ".join(f"{k} {1000 * t:.0f} ms" for k, t in best.items())


def tile(rgb: torch.Tensor, height: int, label: str) -> Image.Image:
    """One labelled montage cell at the given height."""
    arr = (rgb[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    im = Image.fromarray(arr)
    im = im.resize((max(1, round(im.width * height / im.height)), height), Image.LANCZOS)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 7 * len(label) + 6, 14), fill=(0, 0, 0))
    draw.text((3, 1), label, fill=(255, 255, 255))
    return im


def montage(rows: list[list[Image.Image]], path: Path) -> None:
    """Rows of cells (original / grey / bilinear / guided) into one PNG."""
    widths = [sum(c.width for c in r) for r in rows]
    sheet = Image.new("RGB", (max(widths), sum(r[0].height for r in rows)), (255, 255, 255))
    y = 0
    for r in rows:
        x = 0
        for cell in r:
            sheet.paste(cell, (x, y))
            x += cell.width
        y += r[0].height
    sheet.save(path)


def main(argv: list[str] | None = None) -> None:
    """Print the photo table and write the montages."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", nargs="+", default=["classifier:32", "regressor:32", "classifier:64", "hints:32"],
                    help="shipped model:size pairs (hints: the hint model with --hint-points true-colour points)")
    ap.add_argument("--photos", nargs="+", default=list(PHOTOS), choices=PHOTOS)
    ap.add_argument("--long-side", type=int, default=512, help="resize photos so the long side is at most this")
    ap.add_argument("--out", default="runs/bench_photos", help="folder for the montage PNGs")
    ap.add_argument("--height", type=int, default=192, help="montage cell height in px")
    ap.add_argument("--hint-points", type=int, default=4, help="true-colour hint points for hint models (4)")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = {n: load_photo(n, args.long_side) for n in args.photos}
    print(f"{len(photos)} scikit-image photos, long side <= {args.long_side} px: "
          + ", ".join(f"{n} {p.shape[-1]}x{p.shape[-2]}" for n, p in photos.items()))
    print(f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    first = next(iter(photos))
    print(f"upsampling {first}'s 32 x 32 chroma to {photos[first].shape[-1]}x{photos[first].shape[-2]} (best of 3): "
          + time_upsampling(photos[first]))
    header = (f"{'model':12s} {'size':>4s}  {'chroma':16s} {'colourful x':>11s} {'RMSE ab mean':>12s} "
              f"{'median':>7s} {'< grey':>7s} {'edges':>6s}")
    print(header)
    print("-" * len(header))
    for run in args.runs:
        name, size = run.split(":")
        size = int(size)
        c = Colorizer.from_pretrained(name, device="cpu")
        rows, zooms, res, secs = [], [], {}, {}
        for i, (pname, img) in enumerate(photos.items()):
            true = color.uint8_to_float(img)
            t0 = time.perf_counter()
            outs = colourings(c, img, size, args.hint_points)
            secs[pname] = time.perf_counter() - t0
            edges = edge_mask(true)
            for k, v in outs.items():
                res.setdefault(k, []).append(measure(v, true, edges))
            if i < MONTAGE_PHOTOS:
                top, left, h, w = zoom_box(outs["bilinear"], outs["guided"])
                for tiles, crop in ((rows, lambda t: t), (zooms, lambda t: t[..., top:top + h, left:left + w])):
                    tiles.append([tile(crop(true), args.height, pname)] + [
                        tile(crop(outs[k]), args.height, f"{k} {name} {size}") for k in ("grey", "bilinear", "guided")])
        grey = np.array(res["grey"])[:, 1]
        for k in ("grey",) + VARIANTS:
            v = np.array(res[k])
            better = "" if k == "grey" else f"{int((v[:, 1] < grey).sum())}/{len(v)}"
            print(f"{name:12s} {size:4d}  {k:16s} {np.median(v[:, 0]):11.2f} {v[:, 1].mean():12.2f} "
                  f"{np.median(v[:, 1]):7.2f} {better:>7s} {v[:, 2].mean():6.2f}")
        print("  per photo RMSE ab (grey / bilinear / guided): " + "; ".join(
            f"{p} {res['grey'][j][1]:.1f}/{res['bilinear'][j][1]:.1f}/{res['guided'][j][1]:.1f}"
            for j, p in enumerate(photos)))
        path = out / f"montage_{name}_{size}.png"
        montage(rows, path)
        montage(zooms, out / f"zoom_{name}_{size}.png")  # the quarter of each photo where the two differ most
        print(f"  montage: {path}; {sum(secs.values()):.1f} s for all four colourings of {len(photos)} photos")


if __name__ == "__main__":
    main()
