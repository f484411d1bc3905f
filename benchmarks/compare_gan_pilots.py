"""Which adversarial objective for the `gan` reference? Judge the generators of GAN pilot runs side by side.

Each pilot is `python -m colorkit.pretrained_train gan --set variant=V --out FOLDER/V ...` (runs/logs has the
commands); this loads FOLDER/*/gan.pt and measures every generator on the same test images with effects.measure:
colourfulness against the truth's, RMSE ab, both shipped judges' top-1, and the Frechet distance of each
generator's colours to the truth's in the RGB judge's penultimate features (seed 003's "closer to real"; lower is
closer). Nothing is shipped; it prints a table for the issue note and README.

    python benchmarks/compare_gan_pilots.py runs/pilot-gan6 --data cifar10-jpeg.tar.gz --test-limit 2000
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import colorkit as ck
from colorkit.effects import measure, summarize
from colorkit.judge import frechet_distance


def main() -> None:
    """Print one row per pilot generator (and grayscale, truth)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", help="a folder of pilot outputs, one sub-folder per variant holding gan.pt / gan.json")
    p.add_argument("--data", required=True)
    p.add_argument("--test-limit", type=int, default=2000)
    args = p.parse_args()
    torch.manual_seed(0)
    test = ck.load_dataset(args.data, "test", limit=args.test_limit)
    colourings, recipes = {}, {}
    for sub in sorted(q for q in Path(args.folder).iterdir() if (q / "gan.json").is_file()):
        model, card = ck.load_pretrained("gan", "cpu", folder=sub)
        colourings[sub.name] = ck.Colorizer(model, sub.name)
        recipes[sub.name] = f"{card['epochs']} epochs, {card['data']}"
    judges = {name: ck.load_pretrained(name, "cpu")[0] for name in ("judge", "chroma_judge")}
    m = measure(test.images, test.labels, colourings, judges, features=("grayscale", *colourings), progress=False)
    means = summarize(m)
    truth_feats = torch.from_numpy(m["truth"]["features:judge"])
    print(f"{len(test):,} test images of {test.name}; pilots: {json.dumps(recipes)}")
    print("| objective | colourfulness | RMSE ab | judge top-1 | chroma judge top-1 | Frechet to truth (judge) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ["grayscale", *colourings, "truth"]:
        fd = ("0" if name == "truth" else
              f"{frechet_distance(torch.from_numpy(m[name]['features:judge']), truth_feats):.2f}"
              if "features:judge" in m[name] else "-")
        r = means[name]
        print(f"| {name} | {r['colourfulness']:.2f} | {r['rmse_ab']:.2f} | {100 * r['correct:judge']:.1f} % | "
              f"{100 * r['correct:chroma_judge']:.1f} % | {fd} |")


if __name__ == "__main__":
    main()
