"""Free bits (Kingma et al. 2016): the KL of each latent dimension is pushed down only while
its batch mean is above a floor of ``free_bits`` nats, so no dimension is switched off.

objective = sum_z max(lambda, mean_z),   mean_z = (1/N) sum_n kl[n, z]
d objective / d kl[n, z] = [mean_z > lambda] / N
"""

from minivae.backend import get_array_module
from minivae.ops.validate import check_float, check_ndim


def free_bits_forward(kl, free_bits: float):
    """kl: (N, Z) KL of each example and latent dimension, free_bits: lambda >= 0 nats
    -> objective (a scalar), cache.  free_bits = 0 is the plain KL, sum_z mean_n kl[n, z].
    """
    check_ndim("kl", kl, 2, "(N, Z)")
    check_float("kl", kl)
    if not free_bits >= 0:
        raise ValueError(f"free_bits must be a number >= 0, got {free_bits}")
    xp = get_array_module(kl)
    per_dim = kl.mean(axis=0)
    # With no floor every dimension is pushed, even one whose KL is exactly 0.
    pushed = per_dim > free_bits if free_bits > 0 else xp.ones(per_dim.shape, dtype=bool)
    objective = xp.where(pushed, per_dim, free_bits).sum()
    return objective, (pushed, kl.shape, kl.dtype)


def free_bits_backward(dobjective, cache):
    """dobjective: scalar  ->  dkl: (N, Z)"""
    pushed, (N, Z), dtype = cache
    xp = get_array_module(pushed)
    return xp.broadcast_to((pushed * (dobjective / N)).astype(dtype), (N, Z))
