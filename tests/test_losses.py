"""colorkit.losses: hand-computed values, sparse == dense cross-entropy, rebalancing, gradients, bf16 autocast."""
from __future__ import annotations

import math

import pytest
import torch

from colorkit.color import AB_SCALE
from colorkit.losses import (
    cross_entropy_dense, l1_loss, l2_loss, loss_for, rebalanced_cross_entropy, soft_cross_entropy,
)

Q = 313


def random_sparse_targets(b: int, k: int, h: int, w: int, q: int = Q, seed: int = 0):
    """k DISTINCT bins a pixel (nearest first is arbitrary here) with weights summing to 1, and the dense twin."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.rand(b, q, h, w, generator=g).topk(k, dim=1).indices  # (B, k, H, W), distinct per pixel
    weight = torch.softmax(torch.randn(b, k, h, w, generator=g), dim=1)
    dense = torch.zeros(b, q, h, w).scatter_(1, idx, weight)  # (B, Q, H, W)
    return idx, weight, dense


def test_l2_and_l1_by_hand():
    pred = torch.zeros(1, 2, 1, 2)
    true = torch.tensor([[[[AB_SCALE, 0.0]], [[0.0, -2 * AB_SCALE]]]])  # pixel 0: d = (1, 0); pixel 1: d = (0, -2)
    # per pixel 1/2 * sum of squares: 0.5 and 2.0 -> mean 1.25
    assert l2_loss(pred, true).item() == pytest.approx(1.25)
    # per pixel sum of |d|: 1 and 2 -> mean 1.5
    assert l1_loss(pred, true).item() == pytest.approx(1.5)
    w = torch.tensor([[[2.0, 0.0]]])  # (B, H, W) pixel weights
    assert l2_loss(pred, true, w).item() == pytest.approx((2 * 0.5 + 0) / 2)
    assert l2_loss(true, true).item() == 0.0


def test_soft_cross_entropy_by_hand():
    # softmax([0, ln 2, 0]) = [1/4, 1/2, 1/4]; target 0.75 on bin 1 and 0.25 on bin 0
    logits = torch.tensor([0.0, math.log(2.0), 0.0]).view(1, 3, 1, 1)
    idx = torch.tensor([1, 0]).view(1, 2, 1, 1)
    weight = torch.tensor([0.75, 0.25]).view(1, 2, 1, 1)
    expected = -(0.75 * math.log(0.5) + 0.25 * math.log(0.25))  # = 1.25 ln 2
    assert soft_cross_entropy(logits, idx, weight).item() == pytest.approx(expected)
    assert soft_cross_entropy(logits, idx[:, :1], torch.ones(1, 1, 1, 1)).item() == pytest.approx(math.log(2.0))
    dense = torch.tensor([0.25, 0.75, 0.0]).view(1, 3, 1, 1)
    assert cross_entropy_dense(logits, dense).item() == pytest.approx(expected)


def test_one_hot_matches_torch_cross_entropy():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, Q, 3, 4, generator=g)
    labels = torch.randint(0, Q, (2, 3, 4), generator=g)
    ours = soft_cross_entropy(logits, labels[:, None], torch.ones(2, 1, 3, 4))
    assert torch.allclose(ours, torch.nn.functional.cross_entropy(logits, labels), atol=1e-6)


@pytest.mark.parametrize("k", [1, 5, 10])
def test_sparse_equals_dense_on_random_data(k):
    g = torch.Generator().manual_seed(k)
    logits = 3 * torch.randn(3, Q, 5, 6, generator=g)
    idx, weight, dense = random_sparse_targets(3, k, 5, 6, seed=k)
    pw = torch.rand(3, 5, 6, generator=g)
    assert torch.allclose(soft_cross_entropy(logits, idx, weight), cross_entropy_dense(logits, dense), atol=1e-5)
    assert torch.allclose(soft_cross_entropy(logits, idx, weight, pw), cross_entropy_dense(logits, dense, pw),
                          atol=1e-5)


def test_sparse_targets_from_quantize_match_dense():
    quantize = pytest.importorskip("colorkit.quantize")
    g = torch.Generator().manual_seed(2)
    ab = 80 * (2 * torch.rand(2, 2, 4, 4, generator=g) - 1)
    idx, weight = quantize.soft_encode_sparse(ab, 5, 5.0)
    dense = torch.zeros(2, Q, 4, 4).scatter_(1, idx, weight.float())
    logits = torch.randn(2, Q, 4, 4, generator=g)
    assert torch.allclose(soft_cross_entropy(logits, idx, weight), cross_entropy_dense(logits, dense), atol=1e-5)


def test_rebalanced_uses_weight_of_nearest_bin():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, Q, 3, 3, generator=g)
    idx, weight, _ = random_sparse_targets(2, 4, 3, 3, seed=3)
    class_weights = torch.rand(Q, generator=g) + 0.5
    per_pixel_ce = -(weight * torch.log_softmax(logits, 1).gather(1, idx)).sum(1)  # (B, H, W)
    expected = (class_weights[idx[:, 0]] * per_pixel_ce).mean()
    assert torch.allclose(rebalanced_cross_entropy(logits, idx, weight, class_weights), expected, atol=1e-6)
    # uniform weights of 1 give back the plain soft cross-entropy
    assert torch.allclose(rebalanced_cross_entropy(logits, idx, weight, torch.ones(Q)),
                          soft_cross_entropy(logits, idx, weight), atol=1e-6)


def test_gradients_flow_and_are_finite():
    g = torch.Generator().manual_seed(4)
    logits = (50 * torch.randn(2, Q, 4, 4, generator=g)).requires_grad_()  # large logits: stable logsumexp
    idx, weight, dense = random_sparse_targets(2, 5, 4, 4, seed=4)
    soft_cross_entropy(logits, idx, weight).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    # d/dlogits of the mean CE is (softmax - target) / (B * H * W)
    expected = (torch.softmax(logits.detach(), 1) - dense) / (2 * 4 * 4)
    assert torch.allclose(logits.grad, expected, atol=1e-6)
    pred = torch.randn(2, 2, 4, 4, generator=g).mul(60).requires_grad_()
    true = torch.randn(2, 2, 4, 4, generator=g).mul(60)
    (l2_loss(pred, true) + l1_loss(pred, true)).backward()
    assert torch.isfinite(pred.grad).all()
    # d/dpred of the L2 part: (pred - true) / AB_SCALE**2 / (B * H * W), plus the L1 sign term
    l2_grad = (pred.detach() - true) / AB_SCALE ** 2 / 32
    l1_grad = torch.sign(pred.detach() - true) / AB_SCALE / 32
    assert torch.allclose(pred.grad, l2_grad + l1_grad, atol=1e-7)


def test_bf16_autocast_stays_finite_and_float32():
    g = torch.Generator().manual_seed(5)
    lin = torch.nn.Conv2d(8, Q, 1)
    x = 10 * torch.randn(2, 8, 4, 4, generator=g)
    idx, weight, _ = random_sparse_targets(2, 5, 4, 4, seed=5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = lin(x)
        assert logits.dtype == torch.bfloat16
        loss = soft_cross_entropy(logits, idx, weight) + rebalanced_cross_entropy(logits, idx, weight, torch.ones(Q))
        reg = l2_loss(logits[:, :2] * 100, torch.zeros(2, 2, 4, 4))
    assert loss.dtype == torch.float32 and torch.isfinite(loss) and torch.isfinite(reg)
    (loss + reg).backward()
    assert torch.isfinite(lin.weight.grad).all()
    ref = soft_cross_entropy(logits.float(), idx, weight)
    assert torch.allclose(soft_cross_entropy(logits, idx, weight), ref)


def test_bad_inputs_raise():
    logits = torch.zeros(1, Q, 4, 4)
    idx, weight, _ = random_sparse_targets(1, 3, 4, 4)
    with pytest.raises(ValueError, match=r"l2_loss: .*\(1, 2, 4, 4\) and \(1, 2, 2, 2\)"):
        l2_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 2))
    with pytest.raises(ValueError, match="pred_ab with 2 channels"):
        l1_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="int64"):
        soft_cross_entropy(logits, idx.int(), weight)
    with pytest.raises(ValueError, match="resolution"):
        soft_cross_entropy(torch.zeros(1, Q, 2, 2), idx, weight)
    with pytest.raises(ValueError, match="same shape"):
        soft_cross_entropy(logits, idx, weight[:, :2])
    with pytest.raises(ValueError, match=r"class_weights of shape \(313,\)"):
        rebalanced_cross_entropy(logits, idx, weight, torch.ones(10))
    with pytest.raises(ValueError, match="pixel_weights"):
        soft_cross_entropy(logits, idx, weight, torch.ones(1, 2, 2))


def test_loss_for_picks_by_head():
    assert loss_for({"name": "zhang", "head": "classify"}) is soft_cross_entropy
    assert loss_for({"name": "cnn_tanh", "head": "tanh"}) is l2_loss
    with pytest.raises(ValueError, match="spec"):
        loss_for({})
