"""The reparameterization trick: a sample of N(mu, e^logvar) as a differentiable function.

z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I) drawn outside
"""

from minivae.backend import get_array_module
from minivae.ops.validate import check_float, check_ndim, check_shape


def reparameterize_forward(mu, logvar, eps):
    """mu, logvar, eps: (N, Z)  ->  z: (N, Z), cache"""
    check_ndim("mu", mu, 2, "(N, Z)")
    check_float("mu", mu)
    check_shape("logvar", logvar, mu.shape, "(N, Z)")
    check_shape("eps", eps, mu.shape, "(N, Z)")
    std = get_array_module(mu).exp(0.5 * logvar)
    return mu + std * eps, (std, eps)


def reparameterize_backward(dz, cache):
    """dz: (N, Z)  ->  dmu = dz, dlogvar = dz * eps * exp(logvar / 2) / 2"""
    std, eps = cache
    return dz, 0.5 * dz * eps * std
