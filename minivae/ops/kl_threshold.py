"""The KL threshold of Li et al. 2019 ("A Surprisingly Effective Fix for Deep Latent
Variable Modeling of Text", EMNLP), per sentence and per dimension, as their released code
computes it (bohanli/vae-pretraining-encoder, text_anneal_fb.py, ``--fb 2``):

    loss_kl  = 0.5 (mu^2 + e^logvar - logvar - 1)       (N, Z): each sentence and dimension
    kl_mask  = loss_kl > dim_target_kl                  dim_target_kl = target_kl / nz
    fake_kl  = (kl_mask * loss_kl).sum(dim=1)           (N,)
    loss     = loss_rc + kl_weight * fake_kl            then the batch mean

so a dimension's KL counts for a sentence only where it exceeds the threshold lambda, and
no other sentence's KL decides it (unlike free bits, ``ops/free_bits.py``, which floors the
batch mean of each dimension):

    objective = (1/N) sum_n sum_z [kl[n, z] > lambda] kl[n, z]
    d objective / d kl[n, z] = [kl[n, z] > lambda] / N
"""

from minivae.backend import get_array_module
from minivae.ops.validate import check_float, check_ndim


def kl_threshold_forward(kl, threshold: float):
    """kl: (N, Z) KL of each example and latent dimension, threshold: lambda >= 0 nats per
    dimension (their target_kl / nz)  ->  objective (a scalar), cache."""
    check_ndim("kl", kl, 2, "(N, Z)")
    check_float("kl", kl)
    if not threshold >= 0:
        raise ValueError(f"threshold must be a number >= 0, got {threshold}")
    xp = get_array_module(kl)
    counted = kl > threshold  # kl_mask
    objective = xp.where(counted, kl, 0).sum() / kl.shape[0]  # (kl_mask * loss_kl), mean
    return objective, (counted, kl.dtype)


def kl_threshold_backward(dobjective, cache):
    """dobjective: scalar  ->  dkl: (N, Z)"""
    counted, dtype = cache
    return (counted * (dobjective / counted.shape[0])).astype(dtype)
