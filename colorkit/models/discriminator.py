"""The discriminator side of colorkit.gan: conditional critics on (L, ab), the adversarial objectives on their
outputs (DCGAN, LSGAN, EBGAN, WGAN, WGAN-GP), weight clipping, the gradient penalty and one update of D."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from .._checks import check_image_batch
from ..color import AB_SCALE, normalize_l
from .heads import scale_channels

NORMS = ("batch", "instance", "spectral", "none")
KINDS = ("patch", "autoencoder")
BASE_CHANNELS = 64  # pix2pix / DCGAN discriminator width at width=1.0
ADVERSARIAL = ("dcgan", "lsgan", "ebgan", "wgan", "wgan_gp")  # variants with an adversarial objective
LSGAN_A, LSGAN_B, LSGAN_C = 0.0, 1.0, 1.0  # seed 003 sec. 4.2: fake target, real target, G's target


def discriminator_input(L: torch.Tensor, ab: torch.Tensor, fn: str = "discriminator") -> torch.Tensor:
    """Stack normalised L and ab / AB_SCALE into the (B, 3, H, W) input every discriminator sees."""
    check_image_batch(L, "L", fn, channels=1)
    check_image_batch(ab, "ab", fn, channels=2)
    if L.shape[0] != ab.shape[0] or L.shape[-2:] != ab.shape[-2:]:
        raise ValueError(f"{fn}: L {tuple(L.shape)} and ab {tuple(ab.shape)} must share batch and H, W")
    return torch.cat([normalize_l(L), ab / AB_SCALE], dim=1)  # (B, 3, H, W), about [-1, 1]


def _channels(width: float, fn: str) -> int:
    if not isinstance(width, (int, float)) or isinstance(width, bool) or width <= 0:
        raise ValueError(f"{fn}: width must be a positive multiplier, got {width!r}")
    return scale_channels(BASE_CHANNELS, width)  # the generators' rounding: a multiple of 8, at least 8


def _check_options(width: float, n_layers: int, norm: str, fn: str) -> int:
    """Validate the shared options; return the first layer's channels."""
    if not isinstance(n_layers, int) or isinstance(n_layers, bool) or n_layers < 1:
        raise ValueError(f"{fn}: n_layers must be an int >= 1, got {n_layers!r}")
    if norm not in NORMS:
        raise ValueError(f"{fn}: norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return _channels(width, fn)


def _conv_block(c_in: int, c_out: int, stride: int, norm: str, transpose: bool = False) -> list[nn.Module]:
    """4x4 conv (or transposed conv) + optional norm + activation; stride 2 halves (doubles) H, W."""
    layer_cls = nn.ConvTranspose2d if transpose else nn.Conv2d
    conv = layer_cls(c_in, c_out, 4, stride, 1, bias=norm != "batch")
    layers: list[nn.Module] = [spectral_norm(conv) if norm == "spectral" else conv]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(c_out))
    elif norm == "instance":
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
    layers.append(nn.ReLU(inplace=True) if transpose else nn.LeakyReLU(0.2, inplace=True))
    return layers


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix) on (L, ab): one raw score per overlapping patch, shape (B, 1, H', W')."""

    output_kind = "patch"

    def __init__(self, width: float = 1.0, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        c = _check_options(width, n_layers, norm, "PatchDiscriminator")
        self.n_layers, self.norm = n_layers, norm
        self.spec = {"kind": "patch", "width": width, "n_layers": n_layers, "norm": norm}
        # first layer has no norm (pix2pix / DCGAN); spectral norm still wraps it
        layers = _conv_block(3, c, 2, "spectral" if norm == "spectral" else "none")
        mult = 1
        for i in range(1, n_layers):  # (B, c * mult, H / 2^i, W / 2^i)
            prev, mult = mult, min(2 ** i, 8)
            layers += _conv_block(c * prev, c * mult, 2, norm)
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += _conv_block(c * prev, c * mult, 1, norm)  # H / 2^n - 1
        last = nn.Conv2d(c * mult, 1, 4, 1, 1)  # H / 2^n - 2, raw score (logit / critic value)
        layers.append(spectral_norm(last) if norm == "spectral" else last)
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def min_size(self) -> int:
        """Smallest H, W that still leaves one output patch."""
        return 3 * 2 ** self.n_layers

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        x = discriminator_input(L, ab, "PatchDiscriminator")  # (B, 3, H, W)
        if min(x.shape[-2:]) < self.min_size():
            raise ValueError(f"PatchDiscriminator: n_layers={self.n_layers} needs H, W >= {self.min_size()}, "
                             f"got {tuple(x.shape[-2:])}")
        return self.net(x)  # (B, 1, H / 2^n - 2, W / 2^n - 2)


class AutoEncoderDiscriminator(nn.Module):
    """EBGAN discriminator: energy = per-image MSE of its auto-encoder's reconstruction, shape (B,)."""

    output_kind = "energy"

    def __init__(self, width: float = 1.0, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        c = _check_options(width, n_layers, norm, "AutoEncoderDiscriminator")
        self.n_layers, self.norm = n_layers, norm
        self.spec = {"kind": "autoencoder", "width": width, "n_layers": n_layers, "norm": norm}
        widths = [c * min(2 ** i, 8) for i in range(n_layers)]  # encoder channels per level
        enc = _conv_block(3, widths[0], 2, "spectral" if norm == "spectral" else "none")
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            enc += _conv_block(c_in, c_out, 2, norm)  # (B, c_out, H / 2^k, W / 2^k)
        dec: list[nn.Module] = []
        for c_in, c_out in zip(widths[::-1][:-1], widths[::-1][1:]):
            dec += _conv_block(c_in, c_out, 2, norm, transpose=True)
        last = nn.ConvTranspose2d(widths[0], 3, 4, 2, 1)  # back to (B, 3, H, W), linear output
        dec.append(spectral_norm(last) if norm == "spectral" else last)
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        init_weights(self)

    def reconstruct(self, L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (input, reconstruction), both (B, 3, H, W) in the normalised units."""
        x = discriminator_input(L, ab, "AutoEncoderDiscriminator")
        step = 2 ** self.n_layers
        if x.shape[-2] % step or x.shape[-1] % step:
            raise ValueError(f"AutoEncoderDiscriminator: n_layers={self.n_layers} needs H, W divisible by "
                             f"{step}, got {tuple(x.shape[-2:])}")
        return x, self.decoder(self.encoder(x))

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        x, recon = self.reconstruct(L, ab)
        return (recon.float() - x.float()).pow(2).mean(dim=(1, 2, 3))  # (B,) energy, float32 under AMP


def build_discriminator(kind: str = "patch", width: float = 1.0, n_layers: int = 3,
                        norm: str = "batch") -> nn.Module:
    """Build a conditional discriminator: "patch" (PatchGAN scores) or "autoencoder" (EBGAN energy)."""
    if kind == "patch":
        return PatchDiscriminator(width, n_layers, norm)
    if kind == "autoencoder":
        return AutoEncoderDiscriminator(width, n_layers, norm)
    raise ValueError(f"build_discriminator: kind must be one of {', '.join(KINDS)}, got {kind!r}")


# ---------------------------------------------------------------- objectives on D's outputs (float32)

def _bce(scores: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, target))


def discriminator_loss(variant: str, real: torch.Tensor, fake: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """D's loss from its outputs on real and generated ab (patch scores, or (B,) energies for ebgan)."""
    if variant == "dcgan":  # -log D(x, y) - log(1 - D(x, G(x)))
        return _bce(real, 1.0) + _bce(fake, 0.0)
    if variant == "lsgan":  # 1/2 E[(D(x, y) - b)^2] + 1/2 E[(D(x, G(x)) - a)^2]
        return 0.5 * (real - LSGAN_B).square().mean() + 0.5 * (fake - LSGAN_A).square().mean()
    if variant == "ebgan":  # D(x, y) + max(0, m - D(x, G(x)))
        return real.mean() + F.relu(margin - fake).mean()
    if variant in ("wgan", "wgan_gp"):  # the critic maximises E[f(x, y)] - E[f(x, G(x))]
        return fake.mean() - real.mean()
    raise ValueError(f"discriminator_loss: unknown variant {variant!r}; valid variants: {', '.join(ADVERSARIAL)}")


def generator_adversarial_loss(variant: str, fake: torch.Tensor) -> torch.Tensor:
    """G's adversarial term from D's output on generated ab."""
    if variant == "dcgan":  # non-saturating: -log D(x, G(x))
        return _bce(fake, 1.0)
    if variant == "lsgan":  # 1/2 E[(D(x, G(x)) - c)^2]
        return 0.5 * (fake - LSGAN_C).square().mean()
    if variant == "ebgan":  # the energy D(x, G(x))
        return fake.mean()
    if variant in ("wgan", "wgan_gp"):
        return -fake.mean()
    raise ValueError(f"generator_adversarial_loss: unknown variant {variant!r}; "
                     f"valid variants: {', '.join(ADVERSARIAL)}")


def gradient_penalty(D: nn.Module, L: torch.Tensor, real_ab: torch.Tensor, fake_ab: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: E[(||grad_y D(L, y)||_2 - 1)^2] at y between real and generated ab / AB_SCALE (D's input units)."""
    eps = torch.rand(real_ab.shape[0], 1, 1, 1, device=real_ab.device)  # (B, 1, 1, 1)
    mix = ((eps * real_ab.float() + (1 - eps) * fake_ab.detach().float()) / AB_SCALE).requires_grad_(True)
    with torch.autocast(L.device.type, enabled=False):  # the double backward runs in float32
        score = D(L.float(), mix * AB_SCALE).flatten(1).mean(1)  # (B,) critic value per image
    (grad,) = torch.autograd.grad(score.sum(), mix, create_graph=True)  # (B, 2, H, W); graph kept for D's update
    norm = (grad.flatten(1).square().sum(1) + 1e-12).sqrt()  # (B,), eps keeps d norm / d grad finite at 0
    return (norm - 1).square().mean()


@torch.no_grad()
def clip_weights(D: nn.Module, clip: float) -> None:
    """WGAN: clamp every parameter of the critic to [-clip, clip]."""
    for p in D.parameters():
        p.clamp_(-clip, clip)


def check_discriminator(D: nn.Module | None, variant: str, lambda_gp: float = 0.0, fn: str = "fit_gan") -> nn.Module:
    """Raise unless D suits the variant: an energy D for ebgan, a patch critic otherwise, no batch norm under a GP."""
    kind, want = getattr(D, "output_kind", None), "energy" if variant == "ebgan" else "patch"
    if kind != want:
        raise ValueError(f"{fn}: variant {variant!r} needs a discriminator with output_kind {want!r} (build_"
                         f"discriminator({'autoencoder' if want == 'energy' else 'patch'!r})), got "
                         f"{type(D).__name__} with output_kind {kind!r}")
    if lambda_gp > 0 and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules()):
        raise ValueError(f"{fn}: the gradient penalty is per image, so the critic must not use batch norm; "
                         "build it with norm='none', 'instance' or 'spectral'")
    return D


def backward_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler=None) -> None:
    """One optimiser update of either player: zero_grad, backward (scaled under fp16), step."""
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()


def discriminator_step(D: nn.Module, opt: torch.optim.Optimizer, L: torch.Tensor, real_ab: torch.Tensor,
                       fake_ab: torch.Tensor, variant: str, margin: float = 0.0, lambda_gp: float = 0.0,
                       clip: float = 0.0, amp_dtype: torch.dtype | None = None, scaler=None) -> torch.Tensor:
    """One update of D on real and generated ab (B, 2, H, W); returns its loss (detached, penalty included)."""
    D.requires_grad_(True)
    with torch.autocast(L.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        real, fake = D(L, real_ab), D(L, fake_ab.detach())  # (B, 1, H', W') scores or (B,) energies
    loss = discriminator_loss(variant, real.float(), fake.float(), margin)
    if lambda_gp > 0:
        loss = loss + lambda_gp * gradient_penalty(D, L, real_ab, fake_ab)
    backward_step(loss, opt, scaler)
    if clip > 0:
        clip_weights(D, clip)
    return loss.detach()
