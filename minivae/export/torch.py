"""A minivae text VAE as PyTorch modules, and back: same weights, same numbers.

    minivae                          PyTorch (TorchVAE)
    embed (V, E)                     embed: nn.Embedding(V, E)  (or enc_embed and dec_embed)
    enc_Wx (E, gH), enc_Wh (H, gH)   encoder: nn.LSTM / nn.GRU,  weight_ih_l0 = Wx^T,
                                     weight_hh_l0 = Wh^T
    LSTM enc_b (4H,)                 bias_ih_l0 = b, bias_hh_l0 = 0 (PyTorch adds the two)
    GRU enc_bx, enc_bh (3H,)         bias_ih_l0 = bx, bias_hh_l0 = bh
    mu_W (H, Z), mu_b (Z,)           mu: nn.Linear(H, Z), weight = W^T (so is logvar,
                                     z_to_h, out)
    dec_*                            decoder: nn.LSTM / nn.GRU (input E, or E + Z with concat)

The gate layouts are already PyTorch's: i, f, g, o for the LSTM (ops/lstm.py) and r, z, n
with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) for the GRU (ops/gru.py), so the weights
move over transposed and nothing else. Going back, an LSTM's two biases are added up;
for a module made by ``to_torch`` bias_hh is zero, so the round trip is exact.

PyTorch is optional (pip install 'minivae[torch]'); this module needs it.
"""

from __future__ import annotations

try:
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError as e:  # pragma: no cover - exercised by a test that hides torch
    raise ImportError(
        "minivae.export.torch needs PyTorch, an optional dependency: "
        "pip install 'minivae[torch]' (or pip install torch)"
    ) from e

import numpy as np

from minivae.backend import to_numpy
from minivae.blocks.config import ModelConfig
from minivae.blocks.encoder import embedding_names
from minivae.blocks.params import param_shapes
from minivae.data.vocab import BOS
from minivae.training.checkpoint import check_param_shapes

RNNS = (("enc", "encoder"), ("dec", "decoder"))  # minivae's prefix, TorchVAE's attribute


def run_masked(rnn, x, steps, state=None):
    """Run ``rnn`` (batch_first) over padded rows the way minivae's masked RNN ops do.

    x: (N, T, D), steps: (N,) real steps of each row, state: the RNN's initial state or None
    -> h: (N, T, H). Packing stops each row at its last real step; the positions after it
    repeat that step's state (minivae carries the state over padding), and a row with no
    real step holds the initial state.
    """
    N, T, _ = x.shape
    steps = torch.as_tensor(steps, dtype=torch.int64).cpu()  # packing wants them on the CPU
    if steps.shape != (N,) or bool((steps < 0).any()) or bool((steps > T).any()):
        raise ValueError(f"steps must be (N={N},) counts in [0, T={T}], got {steps.tolist()}")
    packed = pack_padded_sequence(x, steps.clamp(min=1), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    last = torch.minimum(torch.arange(T), steps[:, None] - 1).clamp(min=0)  # (N, T)
    h = out.gather(1, last.to(out.device)[..., None].expand(N, T, out.shape[2]))
    h0 = torch.zeros_like(h[:, 0]) if state is None else _hidden(state)[0]
    empty = (steps == 0).to(out.device)[:, None, None]
    return torch.where(empty, h0[:, None, :], h)


def _hidden(state):
    """h (1, N, H) of an RNN state: (h, c) for an LSTM, h for a GRU."""
    return state[0] if isinstance(state, tuple) else state


class TorchVAE(nn.Module):
    """minivae's text VAE in PyTorch modules (one layer, batch_first): the forward pass
    (autograd runs through it; the training loss is the caller's).

    encode(tokens, lengths) -> mu, logvar; decode_logits(z, inputs, lengths) -> logits;
    forward(tokens, lengths, z=None) -> logits, mu, logvar. ``config`` is the ModelConfig.
    """

    def __init__(self, config: ModelConfig, dtype=torch.float32):
        super().__init__()
        self.config = config
        V, E, H, Z = config.vocab_size, config.embed_dim, config.hidden_dim, config.latent_dim
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        for name in sorted(set(embedding_names(config))):
            setattr(self, name, nn.Embedding(V, E))
        self.encoder = rnn(E, H, batch_first=True)
        self.mu, self.logvar = nn.Linear(H, Z), nn.Linear(H, Z)
        if config.z_init:
            self.z_to_h = nn.Linear(Z, H)
        self.decoder = rnn(E + Z if config.z_concat else E, H, batch_first=True)
        self.out = nn.Linear(H, V)
        self.to(dtype)

    def _embedding(self, side: int):
        """side 0: the encoder's table, 1: the decoder's (the same module when shared)."""
        return getattr(self, embedding_names(self.config)[side])

    def encode(self, tokens, lengths):
        """q(z|x).  tokens: (N, T) int64 padded, lengths: (N,)  ->  mu, logvar: (N, Z)"""
        x = self._embedding(0)(tokens)
        h_last = run_masked(self.encoder, x, lengths)[:, -1]  # after each sentence's last word
        return self.mu(h_last), self.logvar(h_last)

    def decode_logits(self, z, inputs, lengths=None):
        """Teacher forcing.  z: (N, Z), inputs: (N, T+1) = <bos> w1 .. wL, padded
        -> logits: (N, T+1, V) of w1 .. wL <eos>.

        lengths: (N,) sentence lengths L (as given to ``encode``): row n reads L+1 inputs
        and its later positions repeat the last real one's logits, as in minivae; None: every
        position is real.
        """
        N, T1 = inputs.shape
        x = self._embedding(1)(inputs)
        if self.config.z_concat:
            x = torch.cat([x, z[:, None, :].expand(N, T1, z.shape[1])], dim=2)
        if self.config.z_init:
            h0 = torch.tanh(self.z_to_h(z))[None]
        else:
            h0 = z.new_zeros((1, N, self.config.hidden_dim))
        state = (h0, torch.zeros_like(h0)) if self.config.cell == "lstm" else h0
        if lengths is None:
            h, _ = self.decoder(x, state)
        else:
            h = run_masked(self.decoder, x, torch.as_tensor(lengths) + 1, state)
        return self.out(h)

    def forward(self, tokens, lengths, z=None):
        """tokens: (N, T), lengths: (N,), z: (N, Z) or None (the posterior mean)
        -> logits (N, T+1, V), mu, logvar (N, Z)
        """
        mu, logvar = self.encode(tokens, lengths)
        bos = torch.full_like(tokens[:, :1], BOS)
        logits = self.decode_logits(mu if z is None else z, torch.cat([bos, tokens], 1), lengths)
        return logits, mu, logvar


def _layout(config: ModelConfig) -> list[tuple[str, str, bool]]:
    """(minivae name, PyTorch state_dict key, transposed?) of every directly copied array.

    An LSTM's bias is not here: it splits into bias_ih and a zero bias_hh.
    """
    pairs = [(name, f"{name}.weight", False) for name in sorted(set(embedding_names(config)))]
    for prefix, module in RNNS:
        pairs += [
            (f"{prefix}_Wx", f"{module}.weight_ih_l0", True),
            (f"{prefix}_Wh", f"{module}.weight_hh_l0", True),
        ]
        if config.cell == "gru":
            pairs += [
                (f"{prefix}_bx", f"{module}.bias_ih_l0", False),
                (f"{prefix}_bh", f"{module}.bias_hh_l0", False),
            ]
    linears = ["mu", "logvar", "out"] + (["z_to_h"] if config.z_init else [])
    for name in linears:
        pairs += [(f"{name}_W", f"{name}.weight", True), (f"{name}_b", f"{name}.bias", False)]
    return pairs


def to_torch(params: dict, config: ModelConfig) -> TorchVAE:
    """minivae parameters (NumPy or CuPy) -> a TorchVAE on the CPU in the parameters' dtype."""
    check_param_shapes(params, param_shapes(config), "passed to to_torch")
    arrays = {name: to_numpy(p) for name, p in params.items()}
    dtype = torch.from_numpy(np.zeros(0, dtype=arrays["out_W"].dtype)).dtype
    state = {key: arrays[name].T if t else arrays[name] for name, key, t in _layout(config)}
    if config.cell == "lstm":
        for prefix, module in RNNS:
            state[f"{module}.bias_ih_l0"] = arrays[f"{prefix}_b"]
            state[f"{module}.bias_hh_l0"] = np.zeros_like(arrays[f"{prefix}_b"])
    module = TorchVAE(config, dtype=dtype)
    module.load_state_dict({k: torch.tensor(np.ascontiguousarray(v)) for k, v in state.items()})
    return module


def from_torch(module: TorchVAE) -> dict:
    """A TorchVAE -> minivae parameters: NumPy arrays in the module's dtype, in minivae's order."""
    if not isinstance(module, TorchVAE):
        raise TypeError(f"from_torch takes a TorchVAE (made by to_torch), got {type(module)}")
    config = module.config
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    arrays = {name: state[key].T if t else state[key] for name, key, t in _layout(config)}
    if config.cell == "lstm":
        for prefix, m in RNNS:
            arrays[f"{prefix}_b"] = state[f"{m}.bias_ih_l0"] + state[f"{m}.bias_hh_l0"]
    # Copies: .numpy() shares memory with the module's tensors.
    return {name: np.array(arrays[name], order="C") for name in param_shapes(config)}
