"""Pointwise nonlinearities used inside the recurrent cells and the model."""

from minivae.backend import get_array_module


def sigmoid(x):
    """sigma(x) = 1 / (1 + e^-x), written through tanh so large |x| never overflows exp."""
    xp = get_array_module(x)
    return 0.5 * (xp.tanh(0.5 * x) + 1.0)


def tanh_forward(x):
    """out = tanh(x);  x: any shape"""
    xp = get_array_module(x)
    out = xp.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """d tanh(x)/dx = 1 - tanh(x)^2"""
    out = cache
    return dout * (1.0 - out * out)
