"""Did a refactor change what training computes? Print the sha256 of the weights of small fixed training runs.

Runs train.fit (regressor with augmentation, rebalanced classifier, hint model, random crops), gan.fit_gan
(DCGAN, WGAN-GP, L1) and judge_train.train_judge (AirNet with EMA) on 40 fixed random images, one thread, and prints
one JSON object: weights digest (train.weights_digest), first losses and validation per run. Run it at two
revisions on one machine and compare: equal digests mean bit-identical weights. (Issue 18's changes were checked
this way: every digest and value equal at 7854dc8 and at 729d9b9, one thread of an Intel Xeon with AMX.)

    git stash; python benchmarks/train_digests.py > before.json; git stash pop; python benchmarks/train_digests.py > after.json
"""
from __future__ import annotations

import json
import torch

from colorkit.data import ImageSet
from colorkit.gan import build_gan, fit_gan
from colorkit.judge_train import JudgeConfig, train_judge
from colorkit.models import build_model
from colorkit.train import TrainConfig, fit, weights_digest


def main() -> None:
    """Train each small run from a fixed seed and print its digest."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.arange(40) % 10
    classes = [str(i) for i in range(10)]
    train, val = ImageSet(images, labels, classes, "rand", "train"), ImageSet(images[:12], labels[:12], classes, "rand", "test")
    out = {}
    weights = torch.rand(313, generator=torch.Generator().manual_seed(1)) + 0.5
    runs = {"reg": ("cnn_tanh", TrainConfig(epochs=2, batch_size=8, augment=True, amp="off")),
            "cls": ("zhang_simplified", TrainConfig(epochs=2, batch_size=16, loss="rebalanced", class_weights=weights)),
            "hints": ("zhang_hints", TrainConfig(epochs=1, batch_size=16)),
            "crop": ("cnn_tanh", TrainConfig(epochs=2, batch_size=8, crop=16, log_every=3))}
    for name, (preset, cfg) in runs.items():
        torch.manual_seed(0)
        model = build_model(preset, width=0.125)
        h = fit(model, train, val, cfg, device="cpu", progress=False)
        out[name] = [weights_digest(model), h.train_loss_step[:3], h.val_loss, h.val_rmse_ab]
    for variant in ("dcgan", "wgan_gp", "l1"):
        torch.manual_seed(0)
        G, D, cfg = build_gan(variant, "cnn_tanh", width=0.125, epochs=2, batch_size=8, augment=True)
        h = fit_gan(G, D, train, val, cfg, device="cpu", progress=False)
        out["gan_" + variant] = [weights_digest(G), weights_digest(D) if D is not None else None,
                                 h.g_loss_step[:3], h.d_loss_step[:3], h.val_l1, h.val_rmse_ab]
    cfg = JudgeConfig(arch="airnet", widths=(8, 16, 16), batch_size=16, lr=0.05, ema=0.9, epochs=2, tta=False,
                      progress=False)
    model, info = train_judge(train, val, cfg, device="cpu")
    out["judge"] = [weights_digest(model), info["test_accuracy"]]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
