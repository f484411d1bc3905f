"""Run profiles: one place for the sizes that change between CI, a laptop and one GPU."""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """Sizes for one run of the notebooks; every notebook reads its knobs from here."""

    name: str
    n_train: int  # training images (CIFAR-10 or embedded patches)
    n_test: int  # evaluation images
    image_size: int  # side of the square training images
    epochs: int  # passes over the training images per model
    batch_size: int
    width: float  # channel multiplier for the CNNs (1.0 = the published widths)
    gan_epochs: int  # passes per GAN variant (adversarial training is slower per epoch)
    gan_n_train: int  # training images per GAN variant (seven variants train in notebook 05)
    description: str


PROFILES: dict[str, Profile] = {
    # CI on 2 CPU cores: every notebook well under 90 s; numbers mean nothing, code paths all run.
    "smoke": Profile("smoke", n_train=128, n_test=64, image_size=32, epochs=1, batch_size=64,
                     width=0.125, gan_epochs=1, gan_n_train=128,
                     description="CI: tiny widths, a few hundred images, checks that everything runs"),
    # A laptop CPU (2 cores, AVX2, no bf16) in at most 30 minutes for all notebooks: small models, but every model a
    # comparison rests on gets 1,000 optimiser steps (8,000 images x 4 epochs / batch 32); small batches buy steps at
    # little cost per image on a CPU (benchmarks/bench_profile.py). The reference models (colorkit/weights) show
    # the effects at full length beside them.
    "cpu": Profile("cpu", n_train=8000, n_test=1000, image_size=32, epochs=4, batch_size=32,
                   width=0.25, gan_epochs=4, gan_n_train=8000,
                   description="laptop CPU: 1,000 steps a model, all notebooks in 30 minutes"),
    # One H100/H200: all of CIFAR-10 and the published widths. GANs: 6 epochs, since the seven variants cost
    # 26 GFLOP per image together (torch flop counter): ~14 PFLOP at 10 epochs, over 10 minutes below 25 TFLOP/s.
    "full": Profile("full", n_train=50000, n_test=10000, image_size=32, epochs=15, batch_size=256,
                    width=1.0, gan_epochs=6, gan_n_train=50000,
                    description="one GPU: all of CIFAR-10, published widths"),
}


def get_profile(name: str | Profile, **overrides) -> Profile:
    """Return the named profile (optionally with some fields replaced); unknown names list the valid ones."""
    if isinstance(name, Profile):
        profile = name
    elif name in PROFILES:
        profile = PROFILES[name]
    else:
        raise ValueError(f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}")
    return replace(profile, **overrides) if overrides else profile
