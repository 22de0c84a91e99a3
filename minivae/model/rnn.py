"""One interface over the LSTM and GRU ops, reading weights by name from the params dict."""

from minivae import ops


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


def rnn_step(cell: str, x, state, params: dict, prefix: str, kernel: str = "auto"):
    """One step for generation (no backward). state: (h,) or (h, c)  ->  h (N, H), new state"""
    Wx, Wh = params[f"{prefix}_Wx"], params[f"{prefix}_Wh"]
    if cell == "lstm":
        b = params[f"{prefix}_b"]
        h, c, _ = ops.lstm_step_forward(x, state[0], state[1], Wx, Wh, b, kernel=kernel)
        return h, (h, c)
    h, _ = ops.gru_step_forward(x, state[0], Wx, Wh, params[f"{prefix}_bx"], params[f"{prefix}_bh"])
    return h, (h,)
