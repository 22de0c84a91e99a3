"""The PyTorch export: same numbers as minivae for every cell, z_mode and embedding choice.

Skipped where PyTorch is not installed (it is optional: pip install 'minivae[torch]').
"""

import importlib
import itertools
import sys

import numpy as np
import pytest

from minivae import ops
from minivae.blocks.inference import posterior
from minivae.model import ModelConfig, decode_forward, decoder_io, init_params

V, E, H, Z = 13, 5, 6, 3
LENGTHS = np.array([7, 3, 5, 1, 0])  # one full row, one empty (its state stays h0)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")


def _model(cell, z_mode, shared, dtype=np.float64, seed=0):
    config = ModelConfig(V, E, H, Z, cell=cell, z_mode=z_mode, share_embeddings=shared)
    rng = np.random.default_rng(seed)
    # Random biases too (init_params zeroes them), so a bias in the wrong place shows.
    params = {
        k: (v + 0.5 * rng.standard_normal(v.shape)).astype(dtype)
        for k, v in init_params(config, dtype=np.float64).items()
    }
    return config, params


def _batch(seed=1):
    """Padded tokens with junk (not <pad>) after each sentence: both sides must ignore it."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(4, V, size=(len(LENGTHS), LENGTHS.max()))
    return tokens, LENGTHS


CONFIGS = list(itertools.product(["lstm", "gru"], ["init", "concat", "both"], [True, False]))


@pytest.mark.parametrize("cell, z_mode, shared", CONFIGS)
def test_torch_module_computes_minivaes_posterior_and_logits(torch, cell, z_mode, shared):
    from minivae.export import to_torch

    config, params = _model(cell, z_mode, shared)
    module = to_torch(params, config)
    tokens, lengths = _batch()
    mu, logvar = posterior(params, config, tokens, lengths)
    t_tokens, t_lengths = torch.from_numpy(tokens), torch.from_numpy(lengths)
    with torch.no_grad():
        t_mu, t_logvar = module.encode(t_tokens, t_lengths)
    np.testing.assert_allclose(t_mu.numpy(), mu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(t_logvar.numpy(), logvar, rtol=1e-10, atol=1e-12)

    z = np.random.default_rng(2).standard_normal((len(lengths), Z))
    inputs, _, mask = decoder_io(tokens, lengths)
    logits, _ = decode_forward(params, config, z, inputs, mask)
    with torch.no_grad():
        t_logits = module.decode_logits(torch.from_numpy(z), torch.from_numpy(inputs), t_lengths)
        full, f_mu, _ = module(t_tokens, t_lengths, z=torch.from_numpy(z))
    assert t_logits.dtype == torch.float64 and t_logits.shape == logits.shape
    # Every position, padding included: there both repeat the last real step.
    np.testing.assert_allclose(t_logits.numpy(), logits, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(full.numpy(), t_logits.numpy())
    np.testing.assert_array_equal(f_mu.numpy(), t_mu.numpy())


def test_decoding_without_lengths_treats_every_position_as_real(torch):
    from minivae.export import to_torch

    config, params = _model("lstm", "both", True)
    tokens = np.random.default_rng(3).integers(4, V, size=(2, 4))
    full = np.full(2, 4)
    inputs, _, mask = decoder_io(tokens, full)
    z = np.random.default_rng(4).standard_normal((2, Z))
    logits, _ = decode_forward(params, config, z, inputs, mask)
    with torch.no_grad():
        got = to_torch(params, config).decode_logits(torch.from_numpy(z), torch.from_numpy(inputs))
    np.testing.assert_allclose(got.numpy(), logits, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell, z_mode, shared", [("lstm", "both", True), ("gru", "init", False)])
def test_round_trip_is_exact(torch, cell, z_mode, shared, dtype):
    from minivae.export import from_torch, to_torch

    config, params = _model(cell, z_mode, shared, dtype=dtype)
    module = to_torch(params, config)
    assert next(module.parameters()).dtype == {np.float32: torch.float32}.get(dtype, torch.float64)
    back = from_torch(module)
    assert list(back) == list(params)  # the same names, in minivae's order
    for name in params:
        assert back[name].dtype == dtype and back[name].flags.c_contiguous
        np.testing.assert_array_equal(back[name], params[name], err_msg=name)
    with torch.no_grad():  # the arrays are copies, not views of the module's tensors
        for p in module.parameters():
            p.add_(1.0)
    for name in params:
        np.testing.assert_array_equal(back[name], params[name], err_msg=name)


def test_an_lstm_bias_hh_set_in_torch_is_folded_into_minivaes_bias(torch):
    from minivae.export import from_torch, to_torch

    config, params = _model("lstm", "init", True)
    module = to_torch(params, config)
    with torch.no_grad():
        module.encoder.bias_hh_l0.fill_(0.25)
    np.testing.assert_array_equal(from_torch(module)["enc_b"], params["enc_b"] + 0.25)


def test_nn_lstm_and_nn_gru_agree_with_the_ops(torch):
    rng = np.random.default_rng(5)
    N, T, D = 3, 6, 4
    x, h0, c0 = (
        rng.standard_normal((N, T, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((N, H)),
    )
    Wx, Wh, b = (
        rng.standard_normal((D, 4 * H)),
        rng.standard_normal((H, 4 * H)),
        rng.standard_normal(4 * H),
    )
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
        lstm.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
        lstm.bias_ih_l0.copy_(torch.from_numpy(b))
        lstm.bias_hh_l0.zero_()
        want, _ = lstm(
            torch.from_numpy(x), (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None])
        )
    for kernel in ("auto", "array"):  # the fused Numba cell and the array cell
        h, _ = ops.lstm_forward(x, h0, Wx, Wh, b, c0=c0, kernel=kernel)
        np.testing.assert_allclose(h, want.numpy(), rtol=1e-12, atol=1e-14, err_msg=kernel)

    Wx, Wh = rng.standard_normal((D, 3 * H)), rng.standard_normal((H, 3 * H))
    bx, bh = rng.standard_normal(3 * H), rng.standard_normal(3 * H)
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():
        for name, value in (
            ("weight_ih_l0", Wx.T),
            ("weight_hh_l0", Wh.T),
            ("bias_ih_l0", bx),
            ("bias_hh_l0", bh),
        ):
            getattr(gru, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        want, _ = gru(torch.from_numpy(x), torch.from_numpy(h0)[None])
    h, _ = ops.gru_forward(x, h0, Wx, Wh, bx, bh)
    np.testing.assert_allclose(h, want.numpy(), rtol=1e-12, atol=1e-14)


def test_wrong_parameters_are_refused(torch):
    from minivae.export import from_torch, to_torch

    config, params = _model("gru", "both", True)
    with pytest.raises(ValueError, match=r"missing parameters \['mu_W'\]"):
        to_torch({k: v for k, v in params.items() if k != "mu_W"}, config)
    params["out_W"] = params["out_W"][:, :-1]
    with pytest.raises(ValueError, match=r"out_W has shape \(6, 12\), the model needs \(6, 13\)"):
        to_torch(params, config)
    module = to_torch(_model("gru", "both", True)[1], config)
    tokens, lengths = _batch()
    with pytest.raises(ValueError, match=r"counts in \[0, T=7\], got \[8, 3, 5, 1, 0\]"):
        module.encode(torch.from_numpy(tokens), torch.from_numpy(lengths + (lengths == 7)))
    with pytest.raises(TypeError, match="TorchVAE"):
        from_torch(torch.nn.Linear(2, 2))


def test_without_torch_the_export_says_what_to_install(monkeypatch):
    import minivae.export

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    monkeypatch.delitem(sys.modules, "minivae.export.torch", raising=False)
    monkeypatch.delattr(minivae.export, "torch", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'minivae\[torch\]'"):
        importlib.import_module("minivae.export.torch")
    with pytest.raises(ImportError, match="PyTorch"):
        minivae.export.to_torch  # noqa: B018  (the lazy attribute access is the test)
