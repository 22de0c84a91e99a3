"""The gradient checker itself."""

import numpy as np
import pytest

from minivae.gradcheck import (
    directional_check,
    format_table,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    grad = numerical_gradient(lambda v: float(np.sum(v**3)), x)
    assert rel_error(grad, 3 * x**2) < 1e-8
    assert np.array_equal(x, [[0.3, -1.2], [2.0, 0.5]]), "x must be restored"


def test_numerical_gradient_array_is_a_vector_jacobian_product():
    rng = np.random.default_rng(1)
    x, A, dout = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4)
    grad = numerical_gradient_array(lambda v: A @ v, x, dout)
    assert rel_error(grad, A.T @ dout) < 1e-8


def test_directional_check_accepts_right_and_rejects_wrong_gradients():
    x = np.random.default_rng(2).standard_normal((50, 40))
    f = lambda v: float(np.sum(np.sin(v)))
    assert directional_check(f, x, np.cos(x)) < 1e-7
    assert directional_check(f, x, -np.cos(x)) > 0.5


def test_float32_is_refused_with_a_reason():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: float(v.sum()), np.ones(3, dtype=np.float32))


def test_rel_error_and_table():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.array([1.0]), np.array([-1.0])) == 1.0
    from minivae.gradcheck import CheckRow

    table = format_table(
        [CheckRow("affine", "W", (3, 4), 1e-9, True), CheckRow("lstm", "b", (8,), 0.3, False)]
    )
    assert "affine" in table and "3x4" in table and "FAIL" in table
