"""Solutions to notebook 04's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch

import colorkit as ck


def weight_spread(prior, lam):
    """Exercise 1: how many times the heaviest class weight exceeds the lightest, for a mixing weight lambda.

    The spread falls as lambda grows: at lambda = 1 every weight is Q (spread 1, no rebalancing); as lambda -> 0 a
    bin that never occurs gets weight 1 / (lambda / Q) while the commonest gets about 1 / p_max, so the spread grows
    without bound. Retraining *Rebalanced ours* at lambda = 0.2 and 0.8 (`rebalanced_weights` below gives the
    weights): a smaller lambda pushes harder towards rare colours, so expect more colourfulness and a higher RMSE ab
    at 0.2 than at 0.8, with the unbalanced model as the lambda = 1 end. After 1,000 steps of one seed the two can sit
    within each other's intervals (each row's +- is its 95 % interval): then say so rather than rank them.
    """
    w = 1 / ((1 - lam) * prior + lam / 313)
    return w.max() / w.min()  # the normalisation E_p[w] = 1 cancels in the ratio


def rebalanced_weights(prior, lam):
    """Exercise 1, follow-up: the class weights for any lambda, no smoothing, normalised so that E_prior[w] = 1."""
    w = 1 / ((1 - lam) * prior.double() + lam / prior.numel())
    return w / (prior.double() * w).sum()


def smooth(prior, sigma):
    """Exercise 2: spread each bin's mass over the bins with a Gaussian of the distance between bin centres.

    Smoothing own_prior with sigma = 5 lowers the peak bin's mass and raises the entropy: mass moves from the grey
    centre to its neighbours, and bins that never occurred get a little mass. Why might smoothing hurt seed 001 on
    vehicles? One reason: rebalancing divides by the prior, so rare bins next to common ones lose most of their
    weight once the common bins' mass spills onto them: the weights become smoother and smaller at exactly the rare
    colours the rebalancing was meant to favour, and a narrow domain's few distinctive colours (a car's red) are
    diluted.
    """
    bins = ck.ab_bins(dtype=torch.float64)
    kernel = torch.exp(-torch.cdist(bins, bins).square() / (2 * sigma ** 2))  # (313, 313)
    out = (kernel / kernel.sum(0, keepdim=True)) @ prior.double()  # each column says where one bin's mass goes
    return out / out.sum()


def auc_rebalanced(pred, true, prior):
    """Exercise 3: Zhang's AuC with each pixel weighted by 1 / prior of its true bin.

    Which rung gains most from the reweighting? Use `gains_most(rows)` below on the run's rows: *Rebalanced ours*.
    Every row loses AuC when rare colours count as much as common ones (rare colours are the saturated ones, far from
    any near-grey guess), but the rebalanced rung loses least: its loss weights pixels the way this metric does, so
    it gives up some of the common grey pixels for the rare colours. L2 and the unbalanced classifier predict
    near-grey almost everywhere and lose about as much as grayscale itself: their errors are small on the common
    grey pixels and large on exactly the pixels the reweighting counts.
    """
    err = (pred - true).norm(dim=1).flatten()  # (B*H*W,) ab error
    p = prior.double().clamp(min=prior[prior > 0].min())
    w = 1 / p[ck.encode_hard(true).flatten()]
    within = err[None, :] <= torch.arange(151, dtype=err.dtype)[:, None]  # (151, pixels)
    return ((within * w).sum(1) / w.sum()).mean()


def gains_most(rows):
    """Exercise 3, follow-up: the model of the row whose rebalanced AuC gains most over its plain AuC."""
    return max(rows, key=lambda r: r["auc_rebalanced"] - r["auc"])["model"]


def top_weighted_bins(prior, n):
    """Exercise 4: the ab centres (n, 2) of the n bins the rebalanced loss weighs most (lambda 0.5, no smoothing)."""
    w = ck.class_weights(prior, lam=0.5, sigma=None)
    return ck.ab_bins(dtype=torch.float64)[w.argsort(descending=True, stable=True)[:n]]
