"""The log-density of a diagonal Gaussian, for the metrics (no backward: nothing trains on it).

log N(z; mu, e^logvar) = -1/2 sum_z [log 2 pi + logvar + (z - mu)^2 e^-logvar]
"""

import math

from minivae.backend import get_array_module

LOG_2PI = math.log(2 * math.pi)


def log_normal(z, mu=None, logvar=None):
    """z, mu, logvar: (..., Z) (mu, logvar None: the standard normal)  ->  (...)"""
    xp = get_array_module(z)
    if mu is None:
        return -0.5 * (LOG_2PI + z * z).sum(axis=-1)
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * xp.exp(-logvar)).sum(axis=-1)
