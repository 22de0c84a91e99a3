"""Gradient checking: the machinery (``core``), a case for every op (``op_cases``) and the
whole models (``models``). ``minivae gradcheck`` runs them all."""

from minivae.gradcheck.core import (
    DEFAULT_TOL,
    CheckRow,
    check_op,
    check_params,
    directional_check,
    format_table,
    gradient_error,
    not_implemented_row,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
    require_float64,
)

__all__ = [
    "DEFAULT_TOL",
    "CheckRow",
    "check_op",
    "check_params",
    "directional_check",
    "format_table",
    "gradient_error",
    "not_implemented_row",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
    "require_float64",
]
