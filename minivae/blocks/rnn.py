"""One interface over the LSTM and GRU ops, reading weights by name from the params dict."""

from minivae import ops
from minivae.backend import get_array_module

# The cells' pointwise parts, for a step whose input projection the caller computed.
from minivae.ops.gru import _gru_pointwise_forward as gru_pointwise_forward
from minivae.ops.lstm import select_pointwise


def rnn_forward(cell: str, x, h0, params: dict, prefix: str, mask=None, kernel: str = "auto"):
    """x: (N, T, D), h0: (N, H)  ->  h: (N, T, H), cache (weights ``{prefix}_W*``).

    kernel picks the LSTM cell's implementation (see ``ops.lstm.select_pointwise``).
    """
    Wx, Wh = params[f"{prefix}_Wx"], params[f"{prefix}_Wh"]
    if cell == "lstm":
        return ops.lstm_forward(x, h0, Wx, Wh, params[f"{prefix}_b"], mask=mask, kernel=kernel)
    return ops.gru_forward(x, h0, Wx, Wh, params[f"{prefix}_bx"], params[f"{prefix}_bh"], mask=mask)


def rnn_backward(cell: str, dh, cache, prefix: str):
    """dh: (N, T, H)  ->  dx (N, T, D), dh0 (N, H), {weight name: gradient}"""
    if cell == "lstm":
        dx, dh0, dWx, dWh, db = ops.lstm_backward(dh, cache)
        return dx, dh0, {f"{prefix}_Wx": dWx, f"{prefix}_Wh": dWh, f"{prefix}_b": db}
    dx, dh0, dWx, dWh, dbx, dbh = ops.gru_backward(dh, cache)
    return (
        dx,
        dh0,
        {f"{prefix}_Wx": dWx, f"{prefix}_Wh": dWh, f"{prefix}_bx": dbx, f"{prefix}_bh": dbh},
    )


def input_projection(cell: str, x, params: dict, prefix: str, rows=None):
    """The input's share of the gates, x Wx + b (a GRU's: x Wx + bx).  x: (..., D) -> (..., G)

    rows: the slice of Wx's rows that x stands for, when the rest of the input (say z) is
    projected on its own.
    """
    Wx = params[f"{prefix}_Wx"] if rows is None else params[f"{prefix}_Wx"][rows]
    bias = params[f"{prefix}_b" if cell == "lstm" else f"{prefix}_bx"]
    return (x.reshape(-1, Wx.shape[0]) @ Wx + bias).reshape(*x.shape[:-1], Wx.shape[1])


def rnn_step(cell: str, x, state, params: dict, prefix: str, kernel: str = "auto"):
    """One step for generation (no backward). state: (h,) or (h, c)  ->  h (N, H), new state"""
    ax = input_projection(cell, x, params, prefix)
    return rnn_step_projected(cell, ax, state, params, prefix, kernel)


def rnn_step_projected(cell: str, ax, state, params: dict, prefix: str, kernel: str = "auto"):
    """``rnn_step`` given the input's share of the gates, ax = x Wx + b: (N, G).

    Scoring reads each sentence under K codes: the words' share of ax is the same for all K,
    so it is computed once (``inference.decoder_states``).
    """
    Wh, h = params[f"{prefix}_Wh"], state[0]
    if cell == "lstm":
        pointwise = select_pointwise(kernel, get_array_module(h), h.dtype)
        h, c, _, _ = pointwise.forward(ax + h @ Wh, state[1])
        return h, (h, c)
    h, _ = gru_pointwise_forward(ax, h @ Wh + params[f"{prefix}_bh"], h)
    return h, (h,)
