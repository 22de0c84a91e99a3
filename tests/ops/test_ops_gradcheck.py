"""Every input of every op, gradient-checked in float64 against central differences."""

import numpy as np
import pytest

from minivae.gradcheck import DEFAULT_TOL, check_op
from minivae.gradcheck.op_cases import op_cases

CASES = list(op_cases(seed=0))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_every_input_of_every_op(case, seed):
    name, fwd, bwd, inputs, wrt = list(op_cases(seed=seed))[case]
    rows = check_op(fwd, bwd, inputs, wrt=wrt, name=name)
    assert rows, "no input was checked"
    for row in rows:
        assert row.error < DEFAULT_TOL, f"{name} d/d{row.input}: rel error {row.error:.2e}"


def test_a_wrong_gradient_fails_the_check():
    from minivae import ops

    def bad_backward(dout, cache):
        dx, dW, db = ops.affine_backward(dout, cache)
        return dx, dW, -db  # planted sign error

    rng = np.random.default_rng(0)
    inputs = {
        "x": rng.standard_normal((2, 3)),
        "W": rng.standard_normal((3, 4)),
        "b": rng.standard_normal(4),
    }
    rows = {r.input: r for r in check_op(ops.affine_forward, bad_backward, inputs)}
    assert rows["x"].passed and rows["W"].passed
    assert not rows["b"].passed and rows["b"].error > 0.5
