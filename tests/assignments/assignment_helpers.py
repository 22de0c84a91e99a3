"""What the assignment tests share: one planted mistake per graded item, and how to plant it;
the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from minivae.assignments.make import module_file

ROOT = Path(__file__).resolve().parents[2]

# (assignment, item it targets, module, function, old text, new text): one mistake per item.
MISTAKES = [
    ("lstm", "lstm_pointwise forward values", "minivae.ops.lstm", "lstm_pointwise_forward",
     "next_c = f * prev_c + i * g", "next_c = prev_c + i * g"),  # forgot the forget gate
    ("lstm", "lstm_pointwise backward gradcheck", "minivae.ops.lstm", "lstm_pointwise_backward",
     "da[:, H : 2 * H] = dc * prev_c * f * (1.0 - f)", "da[:, H : 2 * H] = dc * f * (1.0 - f)"),
    ("lstm", "lstm_step forward values", "minivae.ops.lstm", "lstm_step_forward",
     "a = x @ Wx + prev_h @ Wh + b\n", "a = x @ Wx + prev_h @ Wh\n"),
    ("lstm", "lstm_step backward gradcheck", "minivae.ops.lstm", "lstm_step_backward",
     "prev_h.T @ da, da.sum(axis=0)", "prev_h.T @ da, da.mean(axis=0)"),
    ("lstm", "lstm_forward values", "minivae.ops.lstm", "lstm_forward",
     "a_all += b\n", "a_all += 0 * b\n"),
    ("lstm", "lstm_forward masking", "minivae.ops.lstm", "lstm_forward",
     "m = mask[:, t, None]\n            h[t + 1]",
     "m = mask[:, t - 1, None]\n            h[t + 1]"),
    ("lstm", "lstm_backward gradcheck", "minivae.ops.lstm", "lstm_backward",
     "dnext_h = dnext_h + dh[:, t]", "dnext_h = dh[:, t]"),
    ("lstm", "lstm_backward masking and c0", "minivae.ops.lstm", "lstm_backward",
     "xp.where(m, (Wh @ da[t].T).T, dnext_h)", "xp.where(m, (Wh @ da[t].T).T, 0.0 * dnext_h)"),
    ("vae_pieces", "reparameterize forward", "minivae.ops.reparameterize",
     "reparameterize_forward", "std = get_array_module(mu).exp(0.5 * logvar)",
     "std = 0.5 * logvar"),  # dropped the exp
    ("vae_pieces", "reparameterize backward", "minivae.ops.reparameterize",
     "reparameterize_backward", "0.5 * dz * eps * std", "dz * eps * std"),
    ("vae_pieces", "kl forward", "minivae.ops.gaussian_kl", "gaussian_kl_forward",
     "prior_logvar - logvar + (", "prior_logvar + logvar + ("),
    ("vae_pieces", "kl forward with prior", "minivae.ops.gaussian_kl", "gaussian_kl_forward",
     "xp.exp(-prior_logvar)", "xp.exp(prior_logvar)"),
    ("vae_pieces", "kl backward", "minivae.ops.gaussian_kl", "gaussian_kl_backward",
     "0.5 * (var * inv_prior_var - 1.0)", "0.5 * (1.0 - var * inv_prior_var)"),  # wrong sign
    ("vae_pieces", "kl backward with prior", "minivae.ops.gaussian_kl", "gaussian_kl_backward",
     "return dmu, dlogvar, -dmu,", "return dmu, dlogvar, dmu,"),
    ("vae_pieces", "cross-entropy forward", "minivae.ops.softmax_cross_entropy",
     "softmax_cross_entropy_forward", "loss = -(log_q * weight).sum() / N",
     "loss = -(log_q * weight).sum() / (N * T)"),
    ("vae_pieces", "cross-entropy backward", "minivae.ops.softmax_cross_entropy",
     "softmax_cross_entropy_backward", "scale = weight * (dloss / N)", "scale = weight * dloss"),
    ("vae_pieces", "cross-entropy masking", "minivae.ops.softmax_cross_entropy",
     "softmax_cross_entropy_forward", "if mask is None else mask.astype(logits.dtype)",
     "if mask is None else xp.ones((N, T), dtype=logits.dtype)"),
    ("gru", "gru_step forward values", "minivae.ops.gru", "gru_step_forward",
     "ah = prev_h @ Wh + bh", "ah = prev_h @ Wh"),
    ("gru", "gru_step backward gradcheck", "minivae.ops.gru", "gru_step_backward",
     "dprev_h = dprev_h + dah @ Wh.T", "dprev_h = dah @ Wh.T"),
    ("gru", "gru_forward values", "minivae.ops.gru", "gru_forward",
     "ah_all[:, t] = h @ Wh + bh", "ah_all[:, t] = h @ Wh"),
    ("gru", "gru_forward masking", "minivae.ops.gru", "gru_forward",
     "xp.where(mask[:, t, None], next_h, h)", "xp.where(mask[:, t - 1, None], next_h, h)"),
    ("gru", "gru_backward gradcheck", "minivae.ops.gru", "gru_backward",
     "dnext_h = dprev_h + dah @ Wh.T", "dnext_h = dprev_h"),
    ("gru", "gru_backward masking", "minivae.ops.gru", "gru_backward",
     "dprev_h = xp.where(m, dprev_h, dnext_h)", "dprev_h = xp.where(m, dprev_h, 0.0 * dnext_h)"),
    ("attention", "attend forward values and masking", "minivae.ops.attention", "attend_forward",
     "weights /= weights.sum(axis=1, keepdims=True)", "weights /= weights.sum()"),
    ("attention", "attend backward gradcheck", "minivae.ops.attention", "attend_backward",
     "dscores = weights * (dw - (weights * dw).sum(axis=1, keepdims=True))",
     "dscores = weights * dw"),  # forgot the softmax's second term
    ("attention", "additive attention forward values", "minivae.ops.attention",
     "additive_attention_step_forward", "get_array_module(query).tanh(keys_proj + (query @ Wq)",
     "(keys_proj + (query @ Wq)"),  # forgot the tanh
    ("attention", "additive attention masking", "minivae.ops.attention",
     "additive_attention_step_forward", "attend_forward(hidden @ v, keys, mask)",
     "attend_forward(hidden @ v, keys, None)"),
    ("attention", "split form over two decoder steps gradcheck", "minivae.ops.attention",
     "additive_attention_step_backward", "dquery_proj = dkeys_proj.sum(axis=1)",
     "dquery_proj = dkeys_proj.mean(axis=1)"),
    ("attention", "additive attention backward gradcheck", "minivae.ops.attention",
     "additive_attention_backward", "return dquery, dkeys + dkeys_from_proj, dWq, dWk, dv",
     "return dquery, dkeys, dWq, dWk, dv"),  # the keys' gradient through their projection
]  # fmt: skip


def plant(solution: Path, out: Path, module: str, old: str, new: str) -> Path:
    """A copy of ``solution`` with ``old`` replaced by ``new`` (which must match exactly once)."""
    shutil.copytree(solution, out)
    path = module_file(out, module)
    source = path.read_text()
    assert source.count(old) == 1, f"planted mistake {old!r} matches {source.count(old)} times"
    path.write_text(source.replace(old, new))
    return out


def cli_command(*args) -> list[str]:
    return [sys.executable, "-m", "minivae", "assignment", *args]


def cli(*args, cwd=ROOT, env=None, timeout=300):
    """``python -m minivae assignment ARGS`` -> the finished process (output as text)."""
    return subprocess.run(
        cli_command(*args),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def only_modules(modules, folder: Path) -> Path:
    """``folder`` holding links to ``modules`` (packages with their ``.libs``, or single-file
    modules such as threadpoolctl) and nothing else: put it on PYTHONPATH, under ``python
    -S``, for a Python where only those are installed."""
    import importlib.util

    folder.mkdir(parents=True)
    for name in modules:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, f"{name} is not installed here"
        origin = Path(spec.origin).resolve()
        if spec.submodule_search_locations:  # a package: its folder, and NumPy's bundled libs
            for source in (origin.parent, origin.parent.with_name(f"{name}.libs")):
                if source.is_dir():
                    (folder / source.name).symlink_to(source)
        else:
            (folder / origin.name).symlink_to(origin)
    return folder
