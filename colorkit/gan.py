"""Conditional GANs for colorization (seed 003): objectives, GANConfig presets and one adversarial loop, fit_gan.

    G, D, cfg = build_gan("lsgan", generator="zhang_regressor", width=0.25, epochs=3)
    history = fit_gan(G, D, train_set, val_set, cfg)

G is any regression colorizer (output_kind "ab"): L (B, 1, H, W) in [0, 100] -> ab (B, 2, H, W) in Lab units.
D sees (L, ab) (models/discriminator.py). G minimises lambda_adv * adversarial + lambda_l1 * L1 + lambda_l2 * L2
(seed 003, sec. 4) on ab / AB_SCALE (about [-1, 1], as pix2pix's images). L1 is pix2pix's: the MEAN of |fake - real|
over every output element, both ab channels included (l1_term: half of losses.l1_loss, which sums the two channels
per pixel), so lambda_l1 = 100 weighs it as pix2pix does; L2 is the mean squared error over the same elements
(losses.l2_loss, whose 1/2 * sum over the two channels is that mean).
Variants "l1" / "l2" have lambda_adv = 0: the generator-only baselines, same loop, no discriminator.
Checkpoints are train.fit checkpoints of G (checkpoint.load_model rebuilds G) plus D's keys.
Notebook 05 calls experiment.run_gan (build_gan, fit_gan, evaluate: an Experiment).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import color, losses, targets
from ._checks import check_positive
from .data import augment
from .device import resolve_device
from .loop import (AMP_MODES, AUGMENT, Curves, amp_dtype, checkpoint_state, device_images, epoch_seed, restore,
                   run_epochs, validate)
from .models import MODEL_PRESETS, build_model
from .models.discriminator import (backward_step, build_discriminator, check_discriminator, discriminator_step,
                                   generator_adversarial_loss)

VARIANTS = ("dcgan", "lsgan", "ebgan", "wgan", "wgan_gp", "l1", "l2")
# Shared defaults. Seed 003 weighs adversarial, L1 and L2 terms by lambdas it does not give: pix2pix's
# lambda_adv = 1, lambda_L1 = 100. Adam(2e-4, beta1 0.5) is DCGAN's and pix2pix's; PatchGAN + batch norm is pix2pix's.
_BASE = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), lambda_adv=1.0, lambda_l1=100.0,
             lambda_l2=0.0, n_critic=1, clip=0.0, lambda_gp=0.0, margin=0.0, disc="patch", norm="batch")

# Each variant's defaults: GANConfig fields left None come from here; disc / norm pick build_gan's discriminator.
GAN_PRESETS: dict[str, dict[str, Any]] = {
    # seed 003 sec. 4.1: sigmoid cross-entropy for D, non-saturating -log D(x, G(x)) for G.
    "dcgan": dict(_BASE),
    # seed 003 sec. 4.2: least squares with a=0, b=1, c=1; dcgan's settings so only the loss differs.
    "lsgan": dict(_BASE),
    # seed 003 sec. 4.3: auto-encoder energy = per-pixel MSE of inputs in about [-1, 1]; an untrained one scores
    # 0.1-0.2, so the margin m = 1 (seed 003 gives none) leaves a clear gap between real (-> 0) and generated.
    "ebgan": dict(_BASE, margin=1.0, disc="autoencoder"),
    # seed 003 sec. 4.4 with the WGAN paper's Algorithm 1: RMSprop lr 5e-5, clip c = 0.01, n_critic = 5.
    "wgan": dict(_BASE, optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, betas=None, n_critic=5, clip=0.01),
    # WGAN-GP (Gulrajani et al. Algorithm 1), the stable alternative: lambda 10, n_critic 5, Adam(1e-4, 0, 0.9);
    # no batch norm in the critic, as the penalty is per image.
    "wgan_gp": dict(_BASE, lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5, lambda_gp=10.0, norm="none"),
    # seed 003 sec. 3.2 baselines: the generator alone on L1 or L2 (lambda_adv = 0), dcgan's G optimiser.
    "l1": dict(_BASE, lambda_adv=0.0, disc=None, norm=None),
    "l2": dict(_BASE, lambda_adv=0.0, lambda_l1=0.0, lambda_l2=100.0, disc=None, norm=None),
}


@dataclass
class GANConfig:
    """One GAN run; fields left None take the variant's value from GAN_PRESETS."""

    variant: str = "dcgan"  # one of VARIANTS
    lambda_adv: float | None = None  # weight of the adversarial term in G's loss
    lambda_l1: float | None = None
    lambda_l2: float | None = None
    optimizer: str | None = None  # "adam" | "rmsprop", both players
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] | None = None  # Adam's; unused by RMSprop
    n_critic: int | None = None  # D updates (one batch each) per G update
    clip: float | None = None  # WGAN weight clipping to [-clip, clip]; 0 = off
    lambda_gp: float | None = None  # WGAN-GP gradient-penalty weight; 0 = off
    margin: float | None = None  # EBGAN margin m
    epochs: int = 1
    batch_size: int = 64
    augment: bool = False  # random crop + flip on the device (loop.AUGMENT)
    amp: str = "auto"  # as TrainConfig.amp: bf16 (fp16 without bf16) autocast on CUDA, off elsewhere
    seed: int = 0
    checkpoint: str | os.PathLike | None = None  # written atomically each epoch; resumed from when it exists
    sample_every: int = 0  # G updates between sample grids; 0 = one grid at each epoch end only
    sample_dir: str | os.PathLike | None = None  # where sample grids (PNG) go; None = no grids
    n_samples: int = 8  # images in the fixed sample batch
    log_every: int = 10  # steps between loss read-backs (one device sync each)

    def __post_init__(self) -> None:
        if self.variant not in GAN_PRESETS:
            raise ValueError(f"GANConfig: unknown variant {self.variant!r}; valid variants: {', '.join(VARIANTS)}")
        for f in fields(self):
            if getattr(self, f.name) is None and f.name in GAN_PRESETS[self.variant]:
                setattr(self, f.name, GAN_PRESETS[self.variant][f.name])
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"GANConfig: optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        if self.optimizer == "adam" and (self.betas is None or len(self.betas) != 2):
            raise ValueError(f"GANConfig: Adam needs betas as a pair (beta1, beta2), got {self.betas!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"GANConfig: unknown amp {self.amp!r}; valid values: {', '.join(AMP_MODES)}")
        for name in ("epochs", "batch_size", "n_critic", "n_samples", "log_every", "sample_every"):
            value, low = getattr(self, name), 0 if name == "sample_every" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"GANConfig: {name} must be an int >= {low}, got {value!r}")
        for name in ("lambda_adv", "lambda_l1", "lambda_l2", "clip", "lambda_gp", "margin", "lr_g", "lr_d"):
            check_positive(getattr(self, name), name, "GANConfig", allow_zero=not name.startswith("lr"))
        if not self.uses_discriminator and self.lambda_adv > 0:
            raise ValueError(f"GANConfig: variant {self.variant!r} trains no discriminator, so lambda_adv must be 0, "
                             f"got {self.lambda_adv}; use an adversarial variant ({', '.join(VARIANTS[:5])})")
        if self.lambda_adv + self.lambda_l1 + self.lambda_l2 == 0:
            raise ValueError("GANConfig: lambda_adv, lambda_l1 and lambda_l2 are all 0; G would learn nothing")

    @property
    def uses_discriminator(self) -> bool:
        """False for the generator-only baselines "l1" and "l2"."""
        return GAN_PRESETS[self.variant]["disc"] is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, so checkpoints load with weights_only=True."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("checkpoint", "sample_dir"):
            d[key] = None if d[key] is None else str(d[key])
        return d


@dataclass
class GANHistory(Curves):
    """Both players' losses per update and per epoch (G's terms unweighted), G's validation, speed."""

    d_loss_step: list[float] = field(default_factory=list)  # every D update (gp included); empty for l1 / l2
    g_loss_step: list[float] = field(default_factory=list)  # every G update: the weighted total
    g_adv_step: list[float] = field(default_factory=list)
    g_l1_step: list[float] = field(default_factory=list)
    g_l2_step: list[float] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)  # per-epoch means of the above (nan: no update that epoch)
    g_loss: list[float] = field(default_factory=list)
    g_adv: list[float] = field(default_factory=list)
    g_l1: list[float] = field(default_factory=list)
    g_l2: list[float] = field(default_factory=list)
    val_l1: list[float] = field(default_factory=list)  # per epoch, l1_term of G on the validation set
    val_rmse_ab: list[float] = field(default_factory=list)  # per epoch, mean per-image chroma RMSE (Lab units)
    epoch_seconds: list[float] = field(default_factory=list)
    images_per_second: list[float] = field(default_factory=list)



def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def l1_term(fake_ab: torch.Tensor, real_ab: torch.Tensor) -> torch.Tensor:
    """pix2pix's L1 on ab / AB_SCALE: the mean over batch, pixels and BOTH channels (losses.l1_loss sums the two)."""
    return losses.l1_loss(fake_ab, real_ab) / 2


def generator_step(G: nn.Module, D: nn.Module | None, opt: torch.optim.Optimizer, L: torch.Tensor,
                   real_ab: torch.Tensor, cfg: GANConfig, fake_ab: torch.Tensor | None = None,
                   amp_dtype: torch.dtype | None = None, scaler=None) -> torch.Tensor:
    """One update of G; returns (total, adversarial, L1, L2) detached, the last three unweighted."""
    if fake_ab is None:
        with _autocast(L.device, amp_dtype):
            fake_ab = G(L)  # (B, 2, H, W)
    fake_ab = fake_ab.float()
    l1, l2 = l1_term(fake_ab, real_ab), losses.l2_loss(fake_ab, real_ab)
    adv = torch.zeros((), device=L.device)
    if cfg.lambda_adv > 0:
        D.requires_grad_(False)  # G's step leaves D's gradients alone
        with _autocast(L.device, amp_dtype):
            adv = generator_adversarial_loss(cfg.variant, D(L, fake_ab).float())
        D.requires_grad_(True)
    terms = [(cfg.lambda_adv, adv), (cfg.lambda_l1, l1), (cfg.lambda_l2, l2)]
    total = sum(w * t for w, t in terms if w > 0)
    backward_step(total, opt, scaler)
    return torch.stack([total, adv, l1, l2]).detach()


def train_step(G: nn.Module, D: nn.Module | None, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer | None,
               L: torch.Tensor, real_ab: torch.Tensor, cfg: GANConfig, update_g: bool = True,
               amp_dtype: torch.dtype | None = None, scalers: tuple = (None, None)) -> dict[str, torch.Tensor]:
    """One batch: a D update (adversarial variants), then a G update when update_g; returns their losses."""
    with torch.set_grad_enabled(update_g), _autocast(L.device, amp_dtype):
        fake = G(L)  # (B, 2, H, W), kept with its graph for G's update
    out = {}
    if cfg.uses_discriminator:
        out["discriminator"] = discriminator_step(D, opt_d, L, real_ab, fake, cfg.variant, cfg.margin, cfg.lambda_gp,
                                                  cfg.clip, amp_dtype, scalers[1])
    if update_g:
        out["generator"] = generator_step(G, D, opt_g, L, real_ab, cfg, fake, amp_dtype, scalers[0])
    return out


# ---------------------------------------------------------------- the loop

def make_gan_optimizers(G: nn.Module, D: nn.Module | None,
                        cfg: GANConfig) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
    """(opt_g, opt_d) as cfg says: Adam(lr, betas) or RMSprop(lr); opt_d is None without a discriminator."""
    def make(params, lr):
        if cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas))

    return make(G.parameters(), cfg.lr_g), (make(D.parameters(), cfg.lr_d) if D is not None else None)


def _samples(G: nn.Module, L: torch.Tensor, ab: torch.Tensor, path: Path) -> Path:
    """Save a grid: input L (gray), prediction, truth, one row each, for a fixed batch; G's mode is kept."""
    from torchvision.utils import save_image

    was_training = G.training
    G.eval()
    with torch.no_grad():
        pred = G(L).float()  # (n, 2, H, W)
    G.train(was_training)
    rows = [color.gray_from_l(L), color.from_luma_chroma(L, pred, "lab").clamp(0, 1),
            color.from_luma_chroma(L, ab, "lab").clamp(0, 1)]  # 3 x (n, 3, H, W)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(torch.cat(rows).float().cpu(), path, nrow=L.shape[0], padding=1)
    return path


def _resume_gan(path: Path, G, D, opt_g, opt_d, scalers, shuffle_gen, cfg, dataset: str) -> tuple[int, GANHistory]:
    state = restore(path, G, opt_g, scalers[0], shuffle_gen, cfg, "fit_gan", dataset=dataset)  # + config, data check
    if D is not None:
        spec = getattr(D, "spec", None)
        if state.get("discriminator_spec") != spec:
            raise ValueError(f"fit_gan: cannot resume from {path}: it holds discriminator "
                             f"{state.get('discriminator_spec')!r}, the one given is {spec!r}")
        D.load_state_dict(state["discriminator"])
        opt_d.load_state_dict(state["optimizer_d"])
        if scalers[1] is not None and state.get("scaler_d"):
            scalers[1].load_state_dict(state["scaler_d"])
    return int(state["epoch"]), GANHistory.from_dict(state["history"])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def fit_gan(generator: nn.Module, discriminator: nn.Module | None, train_set: Any, val_set: Any = None,
            cfg: GANConfig | None = None, device: str | torch.device | None = None,
            progress: bool = True) -> GANHistory:
    """Train G (and D) per cfg on train_set (ImageSet or uint8 tensor); resumes from cfg.checkpoint if it exists."""
    cfg = GANConfig() if cfg is None else cfg
    if not isinstance(cfg, GANConfig):
        raise TypeError(f"fit_gan: expected cfg as a GANConfig, got {type(cfg).__name__}")
    G, D = generator, discriminator if cfg.uses_discriminator else None
    if targets.output_kind(G, "fit_gan") != "ab":
        raise ValueError(f"fit_gan: the generator must be a regression colorizer (output_kind 'ab'), got "
                         f"{G.output_kind!r}; build one with head='tanh' (e.g. 'zhang_regressor', 'unet')")
    if cfg.uses_discriminator:
        check_discriminator(D, cfg.variant, cfg.lambda_gp)
    players = [m for m in (G, D) if m is not None]
    device = resolve_device(device, 1)  # one process: fit_gan has no DDP path
    images, val_images = device_images(G, train_set, val_set, device, "fit_gan")
    torch.manual_seed(cfg.seed)
    for m in players:
        m.to(device)
    opt_g, opt_d = make_gan_optimizers(G, D, cfg)
    autocast_dtype = amp_dtype(cfg.amp, device, "fit_gan")
    scalers = tuple(torch.amp.GradScaler("cuda") if autocast_dtype == torch.float16 else None for _ in range(2))
    shuffle_gen = torch.Generator().manual_seed(cfg.seed)
    aug_gen = torch.Generator(device=device)
    path = None if cfg.checkpoint is None else Path(cfg.checkpoint)
    history, start = GANHistory(), 0
    if path is not None and path.exists():
        start, history = _resume_gan(path, G, D, opt_g, opt_d, scalers, shuffle_gen, cfg,
                                     str(getattr(train_set, "name", "") or ""))
    fixed = (val_images if val_images is not None else images)[:cfg.n_samples]
    fixed_L, fixed_ab = targets.luma_chroma(fixed)  # the sample grids' batch, the same every epoch
    steps = math.ceil(images.shape[0] / cfg.batch_size)
    n_g_updates = (start * steps) // cfg.n_critic  # G updates so far (D updates every step, G every n_critic)
    order = torch.empty(0, dtype=torch.long)
    dataset = str(getattr(train_set, "name", "") or "")

    def begin(epoch: int) -> None:
        nonlocal order
        for m in players:
            m.train()
        aug_gen.manual_seed(epoch_seed(cfg.seed, epoch, 0))
        order = torch.randperm(images.shape[0], generator=shuffle_gen).to(device)

    def step(epoch: int, i: int) -> dict[str, torch.Tensor]:
        nonlocal n_g_updates
        batch = images[order[i * cfg.batch_size:(i + 1) * cfg.batch_size]]  # (B, 3, H, W) uint8
        if cfg.augment:
            batch = augment(batch, generator=aug_gen, **AUGMENT)
        L, ab = targets.luma_chroma(batch)  # (B, 1, H, W) in [0, 100], (B, 2, H, W) Lab units
        update_g = (epoch * steps + i + 1) % cfg.n_critic == 0
        out = train_step(G, D, opt_g, opt_d, L, ab, cfg, update_g, autocast_dtype, scalers)
        n_g_updates += update_g
        if cfg.sample_dir is not None and cfg.sample_every and update_g and n_g_updates % cfg.sample_every == 0:
            _samples(G, fixed_L, fixed_ab, Path(cfg.sample_dir) / f"{cfg.variant}_step{n_g_updates:06d}.png")
        return {{"discriminator": "d", "generator": "g"}[k]: v for k, v in out.items()}

    def end(epoch: int, values: dict[str, list], seconds: float) -> dict[str, float]:
        history.d_loss_step += values.get("d", [])
        if D is not None:
            history.d_loss.append(_mean(values.get("d", [])))
        for j, name in enumerate(("g_loss", "g_adv", "g_l1", "g_l2")):  # G's total and its three unweighted terms
            term = [v[j] for v in values.get("g", [])]
            getattr(history, name + "_step").extend(term)
            getattr(history, name).append(_mean(term))
        history.epoch_seconds.append(seconds)
        history.images_per_second.append(images.shape[0] / seconds)
        shown = {"g": history.g_loss[-1]} if values.get("g") else {}
        if val_images is not None:
            val_l1, val_rmse = validate(G, val_images, "l1", batch_size=cfg.batch_size, amp_dtype=autocast_dtype)
            history.val_l1.append(val_l1 / 2)  # losses.l1_loss sums the two channels; l1_term is their mean
            history.val_rmse_ab.append(val_rmse)
            shown["val_l1"] = history.val_l1[-1]
        if cfg.sample_dir is not None:
            _samples(G, fixed_L, fixed_ab, Path(cfg.sample_dir) / f"{cfg.variant}_epoch{epoch + 1:03d}.png")
        return shown

    def state(done: int) -> dict[str, Any]:
        out = checkpoint_state(G, opt_g, scalers[0], done, history, cfg, shuffle_gen, images, dataset)
        out.update(variant=cfg.variant, discriminator=None if D is None else D.state_dict(),
                   optimizer_d=None if D is None else opt_d.state_dict(),
                   scaler_d=None if scalers[1] is None else scalers[1].state_dict(),
                   discriminator_spec=None if D is None else getattr(D, "spec", None))
        return out

    run_epochs("fit_gan", start, cfg.epochs, steps, begin, step, end, state, path, players,
               {"d": f"{cfg.variant} discriminator loss", "g": f"{cfg.variant} generator loss"},
               lambda: f"Lower the learning rates (lr_g={cfg.lr_g:g}, lr_d={cfg.lr_d:g}) or set amp='off'.",
               cfg.log_every, progress, desc=f"{cfg.variant} epoch")
    for m in players:
        m.eval()
    return history


def build_gan(variant: str = "dcgan", generator: str | nn.Module = "zhang_regressor", width: float = 1.0, n_layers: int = 3,
              norm: str | None = None, **overrides: Any) -> tuple[nn.Module, nn.Module | None, GANConfig]:
    """(G, D, cfg) for a variant: G by registry name (or as given), D as the preset says (None for l1 / l2)."""
    cfg = GANConfig(variant=variant, **overrides)
    if isinstance(generator, str):  # build_model lists the valid names for an unknown one
        preset = MODEL_PRESETS.get(generator)
        options = {"width": width} if preset is not None and "width" in preset.options() else {}
        generator = build_model(generator, head="tanh", **options)
    disc, default_norm = GAN_PRESETS[variant]["disc"], GAN_PRESETS[variant]["norm"]
    D = None if disc is None else build_discriminator(disc, width=width, n_layers=n_layers, norm=norm or default_norm)
    return generator, D, cfg
