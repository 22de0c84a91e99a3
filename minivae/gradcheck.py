"""Checking hand-written gradients against central finite differences.

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / 2h        (error O(h^2))

Used by the tests, the tutorials, assignment grading and ``minivae gradcheck``.
Everything runs in float64: in float32 the rounding error of f, divided by 2h,
swamps the derivative, so a correct gradient would look wrong.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from minivae.backend import get_array_module, to_numpy

DEFAULT_TOL = 1e-6


class CheckRow(NamedTuple):
    """One line of a gradient-check table."""

    op: str
    input: str
    shape: tuple
    error: float
    passed: bool
    note: str = ""  # shown instead of pass/FAIL: "not implemented"


def not_implemented(op: str) -> CheckRow:
    """The row of an op whose code raised NotImplementedError (a student copy's blank)."""
    return CheckRow(op, "-", (), float("nan"), False, "not implemented")


def require_float64(name: str, x) -> None:
    if x.dtype != np.float64:
        raise TypeError(
            f"gradient check of {name!r} needs float64, got {x.dtype}: central differences in "
            "float32 lose about half their digits to rounding, so correct gradients fail the check."
        )


def rel_error(a, b, floor: float = 1e-8) -> float:
    """max_i |a_i - b_i| / max(floor, |a_i| + |b_i|): ~1e-9 for a correct float64 gradient."""
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))


def gradient_error(numeric, analytic) -> float:
    """``rel_error`` with the floor at 1e-3 of the largest entry.

    Central differences resolve about 1e-10 in absolute terms (rounding of f divided
    by 2h), so an entry far smaller than the largest cannot be checked
    relative to itself; it is checked relative to that scale instead.
    """
    scale = max(float(np.max(np.abs(to_numpy(analytic)), initial=0.0)), 1e-4)
    return rel_error(numeric, analytic, floor=1e-3 * scale)


def numerical_gradient(f, x, h: float = 1e-5, five_point: bool = False):
    """Gradient of a scalar function ``f(x)`` by central differences, one entry at a time.

    The five-point stencil (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h has error
    O(h^4), so it can take a larger h and lose less to rounding: the whole model, whose
    loss is a long chain of sums, is checked with it (h ~ 3e-3).
    x is perturbed in place and restored; x: any shape  ->  grad: same shape
    """
    require_float64("x", x)
    if not x.flags.c_contiguous:
        raise ValueError("numerical_gradient perturbs x in place, so x must be C-contiguous")
    xp = get_array_module(x)
    grad = xp.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    steps, weights = ((-2, -1, 1, 2), (1, -8, 8, -1)) if five_point else ((-1, 1), (-1, 1))
    denominator = 12 * h if five_point else 2 * h
    for i in range(flat.size):
        old = flat[i].item()
        total = 0.0
        for step, weight in zip(steps, weights):
            flat[i] = old + step * h
            total += weight * float(f(x))
        flat[i] = old
        gflat[i] = total / denominator
    return grad


def numerical_gradient_array(f, x, dout, h: float = 1e-5):
    """Vector-Jacobian product sum(dout * df/dx) for an array-valued ``f(x)``.

    x: any shape, dout: f(x).shape  ->  grad: x.shape
    """
    xp = get_array_module(x)
    return numerical_gradient(lambda v: float(xp.sum(f(v) * dout)), x, h)


def directional_check(f, x, grad, num_directions: int = 8, h: float = 1e-5, seed: int = 0):
    """Compare <grad, u> with (f(x + h u) - f(x - h u)) / 2h along random unit directions u.

    A whole layer is checked with 2 * num_directions evaluations instead of 2 * x.size.
    Returns the largest relative error over the directions.
    """
    require_float64("x", x)
    xp = get_array_module(x)
    rng = np.random.default_rng(seed)
    worst = 0.0
    original = x.copy()
    for _ in range(num_directions):
        u = rng.standard_normal(x.shape)
        u = xp.asarray(u / max(np.linalg.norm(u), 1e-30))
        x[...] = original + h * u
        fplus = float(f(x))
        x[...] = original - h * u
        fminus = float(f(x))
        x[...] = original
        numeric = (fplus - fminus) / (2 * h)
        analytic = float(xp.sum(grad * u))
        worst = max(worst, rel_error(np.array(numeric), np.array(analytic)))
    return worst


def _outputs(result):
    """Split a forward's return value into (outputs, cache): the cache is always last."""
    if not isinstance(result, tuple) or len(result) < 2:
        raise TypeError("a forward function must return (out, ..., cache)")
    return result[:-1], result[-1]


def check_op(
    forward,
    backward,
    inputs: dict,
    wrt=None,
    name=None,
    tol=DEFAULT_TOL,
    seed=0,
    h=1e-5,
    max_entries=None,
):
    """Check every differentiable input of an op; return a list of ``CheckRow``.

    forward(*inputs.values()) -> (out, ..., cache);  backward(*douts, cache) -> grads,
    one grad per name in ``wrt`` (default: the floating-point inputs, in order).
    Random upstream gradients are drawn for every output. With ``max_entries``, inputs
    larger than that are checked along random directions instead of entry by entry.
    """
    name = name or getattr(forward, "__name__", "op").removesuffix("_forward")
    names = list(inputs)
    values = list(inputs.values())
    if wrt is None:
        wrt = [k for k, v in inputs.items() if hasattr(v, "dtype") and v.dtype.kind == "f"]
    for k in wrt:
        require_float64(k, inputs[k])
    outs, cache = _outputs(forward(*values))
    xp = get_array_module(*[v for v in values if hasattr(v, "dtype")])
    rng = np.random.default_rng(seed)
    douts = [xp.asarray(rng.standard_normal(np.shape(o))) for o in outs]
    grads = backward(*douts, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(wrt):
        raise ValueError(
            f"{name}: backward returned {len(grads)} gradients for inputs {wrt}; pass wrt=[...]"
        )

    def scalar(k):
        """sum over outputs of <dout, out> as a function of input k alone."""

        def f(v):
            args = [v if n == k else a for n, a in zip(names, values)]
            res, _ = _outputs(forward(*args))
            return sum(float(xp.sum(o * d)) for o, d in zip(res, douts))

        return f

    rows = []
    for k, g in zip(wrt, grads):
        x = inputs[k]
        if tuple(np.shape(g)) != tuple(x.shape):
            raise ValueError(f"{name}: gradient for {k} has shape {np.shape(g)}, input {x.shape}")
        if max_entries is not None and x.size > max_entries:
            err = directional_check(scalar(k), x, g, seed=seed, h=h)
        else:
            err = gradient_error(numerical_gradient(scalar(k), x, h), g)
        rows.append(CheckRow(name, k, tuple(x.shape), err, bool(err <= tol)))
    return rows


def check_params(
    run,
    params: dict,
    label: str,
    tol: float = DEFAULT_TOL,
    h: float = 3e-3,
    max_entries: int | None = None,
    seed: int = 0,
) -> list[CheckRow]:
    """Check a whole model: d loss / d p for every array p in ``params``.

    run() -> (terms with a ``loss``, {name: gradient}) must read ``params`` afresh each call,
    since each entry is perturbed in place. Five-point stencil entry by entry, or random
    directions for arrays larger than ``max_entries``.
    """

    def loss_of(_):
        return run()[0].loss

    _, grads = run()
    rows = []
    for name, p in params.items():
        if max_entries is not None and p.size > max_entries:
            err = directional_check(loss_of, p, grads[name], seed=seed)
        else:
            err = gradient_error(numerical_gradient(loss_of, p, h=h, five_point=True), grads[name])
        rows.append(CheckRow(label, name, tuple(p.shape), err, bool(err <= tol)))
    return rows


def format_table(rows) -> str:
    """Rows as an aligned text table: op, input, shape, max relative error, pass/FAIL."""
    header = ("op", "input", "shape", "max rel error", "result")
    lines = [
        (
            r.op,
            r.input,
            "x".join(map(str, r.shape)) or "()",
            "-" if r.error != r.error else f"{r.error:.2e}",
            r.note or ("pass" if r.passed else "FAIL"),
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)
