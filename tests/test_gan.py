"""colorkit.gan / models.discriminator: every variant's step, objectives on hand-made cases, clipping, the
gradient penalty, baselines, NaN stop, exact resume, sample grids, a few steps of real training."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from colorkit import targets
from colorkit.checkpoint import load_checkpoint
from colorkit.color import AB_SCALE
from colorkit.gan import (GAN_PRESETS, VARIANTS, GANConfig, build_gan, discriminator_step, fit_gan,
                          generator_step, make_gan_optimizers, train_step)
from colorkit.models import build_model
from colorkit.models.discriminator import (AutoEncoderDiscriminator, PatchDiscriminator, build_discriminator,
                                           discriminator_loss, generator_adversarial_loss, gradient_penalty)
from colorkit.checkpoint import load_model
from colorkit.loop import TrainingDiverged

torch.set_num_threads(1)
SIZE = 16  # test images are 16x16: the generators' input multiple is 8, n_layers=2 critics need >= 12
ADVERSARIAL = VARIANTS[:5]


def _images(n: int, seed: int = 0) -> torch.Tensor:
    """uint8 images (N, 3, 16, 16) whose colour is a smooth function of brightness: learnable from L."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, SIZE)
    angle = torch.rand(n, 1, 1, generator=g) * 6.3
    t = 0.5 + 0.5 * (torch.cos(angle) * ramp.view(1, SIZE, 1) + torch.sin(angle) * ramp.view(1, 1, SIZE) - 0.5)
    t = (t + 0.15 * torch.rand(n, SIZE, SIZE, generator=g)).clamp(0, 1)
    rgb = torch.stack([t, 0.2 + 0.6 * t ** 2, 0.9 - 0.7 * t], dim=1)  # (N, 3, H, W)
    return (rgb * 255).round().to(torch.uint8)


def _players(variant: str, seed: int = 0, dropout: float = 0.0):
    """A tiny registry generator (ab head) and the variant's discriminator (None for l1 / l2)."""
    torch.manual_seed(seed)
    G = build_model("cnn_tanh", width=0.125, dropout=dropout)  # (B, 2, H, W) in Lab units
    preset = GAN_PRESETS[variant]
    D = None if preset["disc"] is None else build_discriminator(preset["disc"], width=0.125, n_layers=2,
                                                                norm=preset["norm"])
    return G, D


def _cfg(variant: str, **kw) -> GANConfig:
    return GANConfig(variant=variant, **{**dict(epochs=1, batch_size=8, seed=0, log_every=3), **kw})


def _batch(n: int = 8):
    return targets.luma_chroma(_images(n))  # (B, 1, H, W), (B, 2, H, W)


def _conv_weights(module: nn.Module) -> list[torch.Tensor]:
    return [p for p in module.parameters() if p.dim() == 4]


def _equal_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------- one step of every variant

@pytest.mark.parametrize("variant", VARIANTS)
def test_one_step_every_variant(variant):
    G, D = _players(variant)
    cfg = _cfg(variant)
    opt_g, opt_d = make_gan_optimizers(G, D, cfg)
    L, ab = _batch()
    out = train_step(G, D, opt_g, opt_d, L, ab, cfg, update_g=False)  # D's update only
    assert all(p.grad is None for p in G.parameters())
    if D is not None:
        d_loss = out["discriminator"]
        assert d_loss.shape == () and math.isfinite(d_loss.item())
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in _conv_weights(D)), "D got no gradient"
        d_grads = [p.grad.clone() for p in D.parameters()]
    else:
        assert opt_d is None and out == {}
    out = generator_step(G, D, opt_g, L, ab, cfg)  # (total, adversarial, L1, L2)
    assert out.shape == (4,) and torch.isfinite(out).all()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in _conv_weights(G)), "G got no gradient"
    if D is not None:
        assert out[1] != 0  # the adversarial term is live
        assert all(torch.equal(g, p.grad) for g, p in zip(d_grads, D.parameters())), "G's step touched D's grads"
        assert all(p.requires_grad for p in D.parameters())  # D is unfrozen after G's step
        adv_only = generator_step(G, D, opt_g, L, ab, _cfg(variant, lambda_l1=0.0))  # D's gradient alone
        assert adv_only[0] == adv_only[1]
        assert all(p.grad.abs().sum() > 0 for p in _conv_weights(G)), "no adversarial gradient reached G"
    else:
        assert out[1] == 0
    total = cfg.lambda_adv * out[1] + cfg.lambda_l1 * out[2] + cfg.lambda_l2 * out[3]
    torch.testing.assert_close(out[0], total)  # seed 003: lambda_adv * adv + lambda_l1 * L1 + lambda_l2 * L2


def test_presets_resolve_and_overrides_win():
    w = GANConfig("wgan")
    assert (w.optimizer, w.lr_d, w.clip, w.n_critic, w.lambda_gp) == ("rmsprop", 5e-5, 0.01, 5, 0.0)
    gp = GANConfig("wgan_gp")
    assert (gp.optimizer, gp.lr_d, gp.betas, gp.lambda_gp, gp.clip) == ("adam", 1e-4, (0.0, 0.9), 10.0, 0.0)
    assert GANConfig("dcgan").lambda_l1 == 100.0 and GANConfig("l2").lambda_l1 == 0.0
    assert GANConfig("wgan", clip=0.05).clip == 0.05 and GANConfig("wgan", clip=0.05).n_critic == 5
    assert isinstance(make_gan_optimizers(*_players("wgan"), w)[1], torch.optim.RMSprop)
    with pytest.raises(ValueError, match="unknown variant 'began'.*dcgan, lsgan, ebgan, wgan, wgan_gp, l1, l2"):
        GANConfig("began")
    with pytest.raises(ValueError, match="lambda_adv must be 0"):
        GANConfig("l1", lambda_adv=1.0)
    with pytest.raises(ValueError, match="n_critic must be an int >= 1, got 0"):
        GANConfig("wgan", n_critic=0)


# ---------------------------------------------------------------- objectives on hand-made cases

def test_objectives_hand_computed():
    zero, one = torch.zeros(2, 1, 3, 3), torch.ones(2, 1, 3, 3)
    ln2 = math.log(2)
    torch.testing.assert_close(discriminator_loss("dcgan", zero, zero), torch.tensor(2 * ln2))
    torch.testing.assert_close(generator_adversarial_loss("dcgan", zero), torch.tensor(ln2))
    assert discriminator_loss("lsgan", one, zero) == 0  # real at b = 1, fake at a = 0
    torch.testing.assert_close(discriminator_loss("lsgan", zero, one), torch.tensor(1.0))  # 1/2 + 1/2
    assert generator_adversarial_loss("lsgan", one) == 0  # fake at c = 1
    torch.testing.assert_close(discriminator_loss("wgan", 3 * one, one), torch.tensor(-2.0))
    torch.testing.assert_close(generator_adversarial_loss("wgan_gp", 2 * one), torch.tensor(-2.0))


def test_dcgan_losses_on_non_zero_logits_against_bce_by_hand():
    """Zero logits give ln 2 whichever the labels; these do not, so swapped real / fake labels fail here."""
    real = torch.tensor([2.0, -0.5, 1.5, 3.0]).view(2, 1, 2, 1)  # D's patch logits on real ab
    fake = torch.tensor([-1.0, 0.25, -2.5, 0.5]).view(2, 1, 2, 1)  # ... and on generated ab
    d_by_hand = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    g_by_hand = -torch.log(torch.sigmoid(fake)).mean()  # non-saturating: G wants D to call its ab real
    bce = torch.nn.functional.binary_cross_entropy_with_logits  # an independent reference for both
    torch.testing.assert_close(d_by_hand, bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
    torch.testing.assert_close(g_by_hand, bce(fake, torch.ones_like(fake)))
    torch.testing.assert_close(discriminator_loss("dcgan", real, fake), d_by_hand)
    torch.testing.assert_close(generator_adversarial_loss("dcgan", fake), g_by_hand)
    assert abs(float(d_by_hand) - float(-torch.log(torch.sigmoid(fake)).mean() - torch.log(
        1 - torch.sigmoid(real)).mean())) > 1.0  # the flipped labels would give a very different value


class _ScoreByMeanAb(nn.Module):
    """A stand-in discriminator whose patch logit is w * mean(ab) / AB_SCALE per image: known scores by hand."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(3.0))

    def forward(self, L, ab):
        return self.w * (ab / AB_SCALE).mean(dim=(1, 2, 3)).view(-1, 1, 1, 1)


def test_dcgan_steps_use_the_right_labels_and_pix2pix_l1():
    L, real_ab = _batch(4)
    fake_ab = (real_ab.flip(0) * 0.5 + 20.0).requires_grad_()  # as if from G: G's step backpropagates
    D, G = _ScoreByMeanAb(), nn.Conv2d(1, 2, 1)
    s_real, s_fake = [3.0 * (ab / AB_SCALE).mean(dim=(1, 2, 3)) for ab in (real_ab, fake_ab)]  # (B,) logits
    want_d = -torch.log(torch.sigmoid(s_real)).mean() - torch.log(1 - torch.sigmoid(s_fake)).mean()
    d_loss = discriminator_step(D, torch.optim.SGD(D.parameters(), lr=0.0), L, real_ab, fake_ab, "dcgan")
    torch.testing.assert_close(d_loss, want_d)
    cfg = _cfg("dcgan", lambda_l1=100.0)
    out = generator_step(G, D, torch.optim.SGD(G.parameters(), lr=0.0), L, real_ab, cfg, fake_ab=fake_ab)
    torch.testing.assert_close(out[1], -torch.log(torch.sigmoid(s_fake)).mean())  # G's term: -log D(x, G(x))
    l1_by_hand = (fake_ab - real_ab).abs().mean() / AB_SCALE  # pix2pix: a mean over every output element
    torch.testing.assert_close(out[2], l1_by_hand)
    torch.testing.assert_close(out[0], out[1] + 100.0 * l1_by_hand)


def test_ebgan_margin_hand_made():
    real = torch.tensor([0.2, 0.4])
    fake = torch.tensor([0.5, 1.5], requires_grad=True)  # one energy below the margin, one above
    loss = discriminator_loss("ebgan", real, fake, margin=1.0)
    torch.testing.assert_close(loss, torch.tensor(0.3 + (0.5 + 0.0) / 2))  # D(x,y) + max(0, m - D(x,G(x)))
    loss.backward()
    torch.testing.assert_close(fake.grad, torch.tensor([-0.5, 0.0]))  # above the margin: no push on D
    assert discriminator_loss("ebgan", real, torch.tensor([2.0, 3.0]), margin=1.0) == pytest.approx(0.3)
    assert discriminator_loss("ebgan", real, torch.tensor([2.0, 3.0]), margin=4.0) == pytest.approx(0.3 + 1.5)
    assert generator_adversarial_loss("ebgan", torch.tensor([0.5, 1.5])) == pytest.approx(1.0)  # G: the energy


def test_ebgan_energy_is_reconstruction_mse():
    torch.manual_seed(0)
    D = AutoEncoderDiscriminator(width=0.125, n_layers=2).eval()
    L, ab = _batch(4)
    x, recon = D.reconstruct(L, ab)
    assert x.shape == recon.shape == (4, 3, SIZE, SIZE)
    torch.testing.assert_close(x[:, :1], (L - 50) / 50)
    torch.testing.assert_close(x[:, 1:], ab / AB_SCALE)
    torch.testing.assert_close(D(L, ab), ((recon - x) ** 2).mean(dim=(1, 2, 3)))  # (B,) per image


def test_patch_discriminator_is_pix2pix_70x70_at_full_width():
    D = build_discriminator("patch", width=1.0, n_layers=3, norm="batch")
    # hand count: conv 3->64 (+bias), 64->128, 128->256 (s2), 256->512 (s1), each 4x4 with BN, then 512->1 (+bias)
    convs = 3 * 64 * 16 + 64 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 512 * 16 + 512 * 16 + 1
    assert sum(p.numel() for p in D.parameters()) == convs + 2 * (128 + 256 + 512)  # 2,765,633
    assert build_discriminator(**D.spec).spec == D.spec
    with torch.no_grad():
        assert D(*targets.luma_chroma(_images(1, seed=2).repeat(1, 1, 2, 2))).shape == (1, 1, 2, 2)  # 32x32 in


def test_patch_discriminator_shapes_and_errors():
    L, ab = _batch(2)
    for norm in ("batch", "instance", "spectral", "none"):
        assert PatchDiscriminator(0.125, n_layers=2, norm=norm)(L, ab).shape == (2, 1, 2, 2)  # 16 / 4 - 2
    with pytest.raises(ValueError, match="n_layers=3 needs H, W >= 24, got \\(16, 16\\)"):
        PatchDiscriminator(0.125, n_layers=3)(L, ab)
    with pytest.raises(ValueError, match="norm must be one of"):
        PatchDiscriminator(0.125, norm="layer")
    with pytest.raises(ValueError, match="expected ab with 2 channels"):
        PatchDiscriminator(0.125, n_layers=2)(L, torch.cat([ab, ab], 1))


# ---------------------------------------------------------------- WGAN clipping and the gradient penalty

def test_wgan_clips_every_critic_weight():
    G, D = _players("wgan")
    cfg = _cfg("wgan")
    c = cfg.clip
    assert max(p.abs().max().item() for p in D.parameters()) > c  # N(0, 0.02) init and BN scales near 1
    _, opt_d = make_gan_optimizers(G, D, cfg)
    L, ab = _batch()
    loss = discriminator_step(D, opt_d, L, ab, G(L), "wgan", clip=c)
    assert math.isfinite(loss.item()) and all(p.abs().max() <= c for p in D.parameters())
    assert max(p.abs().max().item() for p in D.parameters()) == pytest.approx(c)  # clipping was needed
    G2, D2 = _players("dcgan")
    train_step(G2, D2, *make_gan_optimizers(G2, D2, _cfg("dcgan")), L, ab, _cfg("dcgan"), update_g=False)
    assert max(p.abs().max().item() for p in D2.parameters()) > c  # no clipping outside WGAN


class _LinearCritic(nn.Module):
    """Scores w . (ab / AB_SCALE) per pixel: the image's critic value has gradient norm |w| / sqrt(H W)."""

    output_kind = "patch"

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w).view(1, 2, 1, 1))

    def forward(self, L, ab):
        return (self.w * ab / AB_SCALE).sum(1, keepdim=True) + 0 * L  # (B, 1, H, W)


def test_gradient_penalty_hand_made_and_differentiable():
    L, ab = _batch(4)
    L, ab = L[..., :4, :4], ab[..., :4, :4]  # H = W = 4: gradient norm = |w| / 4
    fake = ab.flip(0)
    crit = _LinearCritic([3.0, 4.0])  # |w| = 5 -> norm 1.25 -> penalty (1.25 - 1)^2
    gp = gradient_penalty(crit, L, ab, fake)
    torch.testing.assert_close(gp, torch.tensor(0.0625))
    assert gp.requires_grad and gp.grad_fn is not None  # create_graph=True: the penalty trains the critic
    gp.backward()
    torch.testing.assert_close(crit.w.grad.flatten(), 2 * 0.25 * torch.tensor([3.0, 4.0]) / 5 / 4)
    G, D = _players("wgan_gp")
    L, ab = _batch()
    gp = gradient_penalty(D, L, ab, G(L))
    assert gp.item() > 0 and gp.requires_grad
    gp.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in _conv_weights(D))
    assert all(p.grad is None for p in G.parameters())  # the fake batch is detached


def test_gp_critic_must_not_use_batch_norm():
    G, _ = _players("wgan_gp")
    D = PatchDiscriminator(0.125, n_layers=2, norm="batch")
    with pytest.raises(ValueError, match="must not use batch norm"):
        fit_gan(G, D, _images(8), cfg=_cfg("wgan_gp"), progress=False)


# ---------------------------------------------------------------- the loop

def test_baselines_never_touch_the_discriminator():
    G, _ = _players("l1")
    D = PatchDiscriminator(0.125, n_layers=2)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    hist = fit_gan(G, D, _images(16), cfg=_cfg("l1", epochs=2), progress=False)
    assert all(torch.equal(before[k], v) for k, v in D.state_dict().items())  # running stats included
    assert all(p.grad is None for p in D.parameters())
    assert hist.d_loss_step == hist.d_loss == [] and len(hist.g_loss_step) == 4 and len(hist.g_loss) == 2
    assert all(v == 0 for v in hist.g_adv_step)
    G2, D2, cfg2 = build_gan("l2", generator=G)
    assert D2 is None and cfg2.lambda_adv == 0 and cfg2.lambda_l2 > 0


def test_n_critic_updates_and_wrong_discriminator():
    G, D = _players("wgan")
    hist = fit_gan(G, D, _images(40), cfg=_cfg("wgan", epochs=2), progress=False)  # 5 batches an epoch
    assert len(hist.d_loss_step) == 10 and len(hist.g_loss_step) == 2  # n_critic = 5 D updates per G update
    with pytest.raises(ValueError, match="variant 'ebgan' needs a discriminator with output_kind 'energy'"):
        fit_gan(G, D, _images(8), cfg=_cfg("ebgan"), progress=False)
    with pytest.raises(ValueError, match="output_kind 'ab'"):
        fit_gan(build_model("mlp", head="classify", width=0.125), D, _images(8), cfg=_cfg("wgan"), progress=False)


class _NaNGenerator(nn.Module):
    output_kind = "ab"

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float("nan")))

    def forward(self, L):
        return self.scale * L.repeat(1, 2, 1, 1)


@pytest.mark.parametrize("variant, player", [("dcgan", "discriminator"), ("l1", "generator")])
def test_nan_loss_stops_with_a_clear_error(tmp_path, variant, player):
    _, D = _players(variant)
    cfg = _cfg(variant, checkpoint=tmp_path / "run.pt")
    with pytest.raises(TrainingDiverged, match=f"fit_gan: {variant} {player} loss is nan at epoch 1, step 1 of 2"):
        fit_gan(_NaNGenerator(), D, _images(16), cfg=cfg, progress=False)
    assert not (tmp_path / "run.pt").exists()


@pytest.mark.parametrize("variant", ["wgan_gp", "lsgan"])
def test_resume_matches_uninterrupted_run(tmp_path, variant):
    data, val = _images(24), _images(8, seed=1)
    kw = dict(augment=True, n_critic=2)  # 3 batches an epoch: G's update cadence crosses the epoch boundary
    G, D = _players(variant, dropout=0.2)  # dropout and the GP's random mix: RNG states must be restored
    h = fit_gan(G, D, data, val, _cfg(variant, epochs=2, **kw), device="cpu", progress=False)
    path = tmp_path / "gan.pt"
    G1, D1 = _players(variant, dropout=0.2)
    fit_gan(G1, D1, data, val, _cfg(variant, epochs=1, checkpoint=path, **kw), device="cpu", progress=False)
    G2, D2 = _players(variant, seed=5, dropout=0.2)  # a fresh process: other weights, then resumed
    h2 = fit_gan(G2, D2, data, val, _cfg(variant, epochs=2, checkpoint=path, **kw), device="cpu", progress=False)
    assert _equal_state(G, G2) and _equal_state(D, D2)
    a, b = h.to_dict(), h2.to_dict()
    for key in ("epoch_seconds", "images_per_second"):
        a.pop(key), b.pop(key)
    assert a == b and len(h.d_loss_step) == 6 and len(h.g_loss_step) == 3
    state = load_checkpoint(path)
    assert state["epoch"] == 2 and state["variant"] == variant and state["optimizer_d"] is not None


def test_resume_refuses_a_changed_objective_but_not_a_longer_run(tmp_path):
    data, path = _images(16), tmp_path / "gan.pt"
    fit_gan(*_players("lsgan"), data, cfg=_cfg("lsgan", epochs=1, checkpoint=path), device="cpu", progress=False)
    with pytest.raises(ValueError, match=r"fit_gan: cannot resume from .*gan\.pt.*lambda_l1=100\.0 but cfg has lambda_l1=5"):
        fit_gan(*_players("lsgan"), data, cfg=_cfg("lsgan", epochs=2, lambda_l1=5.0, checkpoint=path), device="cpu", progress=False)
    h = fit_gan(*_players("lsgan"), data, cfg=_cfg("lsgan", epochs=2, checkpoint=path, sample_dir=tmp_path / "s"),
                progress=False)
    assert len(h.g_loss) == 2 and load_checkpoint(path)["epoch"] == 2


def test_resume_on_other_data_is_refused_and_the_checkpoint_kept(tmp_path):
    import hashlib

    from colorkit.data import ImageSet

    path = tmp_path / "gan.pt"
    a = ImageSet(_images(16), None, [], "set A", "t")
    b = ImageSet(_images(16)[torch.arange(15, -1, -1)], None, [], "set B", "t")
    fit_gan(*_players("dcgan"), a, cfg=_cfg("dcgan", epochs=1, checkpoint=path), device="cpu", progress=False)
    before = hashlib.sha1(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="it was trained on 'set A'.*'set B'"):
        fit_gan(*_players("dcgan"), b, cfg=_cfg("dcgan", epochs=2, checkpoint=path), device="cpu", progress=False)
    assert hashlib.sha1(path.read_bytes()).hexdigest() == before and load_checkpoint(path)["dataset"] == "set A"


def test_training_changes_losses_and_writes_samples(tmp_path):
    for variant in ADVERSARIAL:
        G, D = _players(variant)
        h = fit_gan(G, D, _images(32), _images(8, seed=1),
                    _cfg(variant, epochs=2, n_critic=1, sample_every=3, sample_dir=tmp_path / variant,
                         n_samples=4), progress=False)
        for values in (h.d_loss_step, h.g_loss_step, h.g_adv_step):
            assert len(values) == 8 and all(math.isfinite(v) for v in values) and len(set(values)) > 1, variant
        assert len(h.val_l1) == len(h.val_rmse_ab) == 2 and all(v > 0 for v in h.val_rmse_ab)
        names = sorted(p.name for p in (tmp_path / variant).iterdir())
        assert names == [f"{variant}_epoch001.png", f"{variant}_epoch002.png", f"{variant}_step000003.png",
                         f"{variant}_step000006.png"], names
    from PIL import Image
    with Image.open(tmp_path / "dcgan" / "dcgan_epoch002.png") as im:  # rows: L, prediction, truth
        assert im.size == (4 * (SIZE + 1) + 1, 3 * (SIZE + 1) + 1)


def test_build_gan_with_the_zhang_generator_and_checkpoint_reload(tmp_path):
    G, D, cfg = build_gan("lsgan", generator="zhang_regressor", width=0.125, n_layers=2, epochs=1,
                          batch_size=8, checkpoint=tmp_path / "z.pt")
    assert G.output_kind == "ab" and isinstance(D, PatchDiscriminator) and cfg.lambda_l1 == 100.0
    assert isinstance(build_gan("ebgan", generator=G, n_layers=2)[1], AutoEncoderDiscriminator)
    assert build_gan("wgan_gp", generator=G, n_layers=2)[1].norm == "none"
    fit_gan(G, D, _images(8), cfg=cfg, progress=False)
    G2, meta = load_model(tmp_path / "z.pt", device="cpu")  # a GAN checkpoint is a fit checkpoint of G
    assert _equal_state(G, G2) and meta["epoch"] == 1


def test_bf16_autocast_on_cpu_keeps_losses_finite():
    for variant in ("wgan_gp", "ebgan"):
        G, D = _players(variant)
        h = fit_gan(G, D, _images(16), cfg=_cfg(variant, amp="bf16", n_critic=1), progress=False)
        assert all(math.isfinite(v) for v in h.d_loss_step + h.g_loss_step)


# ---------------------------------------------------------------- notebook helpers

def _notebook(tmp_path, **profile):
    from colorkit.notebook import start_notebook
    from colorkit.profiles import get_profile

    return start_notebook("05_test", {"profile": get_profile("smoke", **profile), "run_dir": tmp_path, "device": "cpu"})


def test_run_gan_trains_checkpoints_resumes_and_evaluates(tmp_path):
    from colorkit.experiment import run_gan

    nb = _notebook(tmp_path, gan_epochs=2, batch_size=8)
    G = build_model("cnn_tanh", width=0.125)
    exp = run_gan("LS GAN", "lsgan", _images(16), _images(8, seed=1), nb, G, progress=False, n_layers=2, n_samples=4)
    assert exp.colorizer.model is G and exp.extra["variant"] == "lsgan" and exp.extra["config"].epochs == 2
    assert len(exp.history.d_loss_step) == 4 and len(exp.history.val_rmse_ab) == 2  # 16 images / 8 = 2 steps x 2
    assert exp.row["model"] == "LS GAN" and exp.row["params"] == sum(p.numel() for p in G.parameters())
    assert 0 < exp.row["rmse_ab"] < 200 and exp.row["train_s"] == pytest.approx(sum(exp.history.epoch_seconds))
    path = nb.checkpoint_path("LS GAN")
    assert path.name == "ls_gan.pt" and load_checkpoint(path)["discriminator_spec"]["n_layers"] == 2
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["lsgan_epoch001.png", "lsgan_epoch002.png"]
    G2, meta = load_model(path, device="cpu")
    L = targets.luma_chroma(_images(4, seed=2))[0]
    with torch.no_grad():
        assert torch.equal(G2(L), G.eval()(L)) and meta["epoch"] == 2
    again = run_gan("LS GAN", "lsgan", _images(16), _images(8, seed=1), nb, build_model("cnn_tanh", width=0.125),
                    progress=False, n_layers=2, n_samples=4)  # resumes at epoch 2 of 2: nothing left to train
    assert again.history.d_loss_step == exp.history.d_loss_step and again.row["rmse_ab"] == pytest.approx(exp.row["rmse_ab"])


def test_run_gan_baseline_is_sized_by_the_profile(tmp_path):
    from colorkit.experiment import run_gan

    nb = _notebook(tmp_path, gan_epochs=1, batch_size=4, width=0.125)
    exp = run_gan("GAN L2", "l2", _images(8), _images(4, seed=1), nb, "cnn_tanh", progress=False)
    assert exp.extra["discriminator"] is None and not exp.history.d_loss_step and len(exp.history.g_l2_step) == 2
    assert exp.extra["config"].batch_size == 4 and exp.extra["config"].lambda_l2 == 100.0
    assert (tmp_path / "checkpoints" / "gan_l2.pt").exists()
    with pytest.raises(ValueError, match="unknown variant"):
        run_gan("x", "pix2pix", _images(8), _images(4), nb, "cnn_tanh", progress=False)


def test_plot_histories_panels_and_lines():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from colorkit.gan import GANHistory
    from colorkit.viz import plot_gan_histories, smooth_curve

    xs, ys = smooth_curve([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], points=3)  # window 2: running means of pairs
    assert xs == pytest.approx([2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0]) and ys == pytest.approx([1.5, 2.5, 3.5, 4.5, 5.5])
    assert smooth_curve([]) == ([], [])
    adv = GANHistory(d_loss_step=[1.0, 0.9, 0.8, 0.7], g_adv_step=[0.5], g_l1_step=[0.3], val_rmse_ab=[12.0])
    wgan = GANHistory(d_loss_step=[0.1, 0.0], g_l1_step=[], val_rmse_ab=[14.0])  # no G update yet (n_critic)
    base = GANHistory(g_l1_step=[0.4, 0.3], val_rmse_ab=[13.0, 11.0])
    fig = plot_gan_histories({"DCGAN": adv, "WGAN": wgan, "GAN L1": base})
    axes = fig.axes
    assert len(axes) == 4 and [a.get_title() for a in axes[:2]] == ["DCGAN", "WGAN"]
    assert [len(line.get_xdata()) for line in axes[0].lines] == [4, 1]  # D loss per update, G's single update
    assert len(axes[2].lines) == 3 and list(axes[3].lines[2].get_ydata()) == [13.0, 11.0]
    plt.close(fig)
    with pytest.raises(ValueError, match="plot_gan_histories: histories is empty"):
        plot_gan_histories({})
