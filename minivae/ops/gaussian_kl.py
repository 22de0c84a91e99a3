"""Analytic KL divergence between diagonal Gaussians, per example.

    KL(N(mu, e^lv) || N(pm, e^plv)) = 1/2 sum_z [plv - lv + (e^lv + (mu - pm)^2) / e^plv - 1]

With the default prior N(0, I) this is 1/2 sum_z [mu^2 + e^lv - lv - 1].
"""

from minivae.backend import get_array_module
from minivae.ops.validate import check_float, check_ndim, check_shape


def gaussian_kl_forward(mu, logvar, prior_mu=None, prior_logvar=None):
    """mu, logvar: (N, Z); prior_mu, prior_logvar: (N, Z) or None (standard normal)
    -> kl: (N,), cache
    """
    check_ndim("mu", mu, 2, "(N, Z)")
    check_float("mu", mu)
    check_shape("logvar", logvar, mu.shape, "(N, Z)")
    xp = get_array_module(mu)
    has_prior = prior_mu is not None or prior_logvar is not None
    if has_prior:
        if prior_mu is None or prior_logvar is None:
            raise ValueError("give both prior_mu and prior_logvar, or neither")
        check_shape("prior_mu", prior_mu, mu.shape, "(N, Z)")
        check_shape("prior_logvar", prior_logvar, mu.shape, "(N, Z)")
    else:
        prior_mu, prior_logvar = xp.zeros_like(mu), xp.zeros_like(mu)
    diff = mu - prior_mu
    inv_prior_var = xp.exp(-prior_logvar)
    var = xp.exp(logvar)
    kl = 0.5 * (prior_logvar - logvar + (var + diff * diff) * inv_prior_var - 1.0).sum(axis=1)
    return kl, (diff, var, inv_prior_var, has_prior)


def gaussian_kl_backward(dkl, cache):
    """dkl: (N,)  ->  dmu, dlogvar (and dprior_mu, dprior_logvar when a prior was given)"""
    diff, var, inv_prior_var, has_prior = cache
    check_shape("dkl", dkl, diff.shape[:1], "(N,)")
    d = dkl[:, None]
    dmu = d * diff * inv_prior_var
    dlogvar = d * 0.5 * (var * inv_prior_var - 1.0)
    if not has_prior:
        return dmu, dlogvar
    dprior_logvar = d * 0.5 * (1.0 - (var + diff * diff) * inv_prior_var)
    return dmu, dlogvar, -dmu, dprior_logvar
