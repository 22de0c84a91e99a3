"""The assignments, as data.

An assignment names the library functions a student writes (they are blanked in the
student copy; the library's own source is the solution) and the graded items. Each
item names the task it runs (``"module:name"`` in ``minivae.assignments.items``)
and the functions it exercises, so that:

* items are graded in the order listed, which is dependency order: an item comes
  after every item whose functions are a subset of its own, its *prerequisites*;
* a blank or wrong function costs only the items that use it.

Adding an assignment (say a whole training step) is one more ``Assignment`` here, one
items module, one instructions file and one notebook: no grading code changes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Blank:
    """A function the student writes: ``module`` (dotted) and the function's name."""

    module: str
    function: str


@dataclass(frozen=True)
class Item:
    """One graded item: run ``task`` (``"items_module:name"``), worth ``points``."""

    name: str
    points: float
    task: str
    uses: tuple[str, ...]  # the blanked functions this item exercises
    seed: int = 0  # seed of the item's random inputs


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    blanks: tuple[Blank, ...]
    items: tuple[Item, ...]
    instructions: str  # a file in minivae/assignments/instructions/
    notebook: str  # a file in minivae/assignments/notebooks/: check cells after each function

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.items)

    def prerequisites(self, item: Item) -> list[Item]:
        """Earlier items whose functions are all used by ``item``: fix those first."""
        earlier = self.items[: self.items.index(item)]
        return [e for e in earlier if set(e.uses) <= set(item.uses)]


def _blanks(module: str, *functions: str) -> tuple[Blank, ...]:
    return tuple(Blank(module, f) for f in functions)


# Which function calls which (checked by tests/assignments/test_assignments.py):
#   lstm_step_forward -> lstm_pointwise_forward <- lstm_forward
#   lstm_step_backward -> lstm_pointwise_backward <- lstm_backward (cache of lstm_forward)
_PF, _PB = "lstm_pointwise_forward", "lstm_pointwise_backward"
LSTM = Assignment(
    name="lstm",
    title="The LSTM cell and backpropagation through time",
    blanks=_blanks(
        "minivae.ops.lstm",
        _PF,
        _PB,
        "lstm_step_forward",
        "lstm_step_backward",
        "lstm_forward",
        "lstm_backward",
    ),
    items=(
        Item("lstm_pointwise forward values", 1, "lstm:pointwise_forward", (_PF,)),
        Item("lstm_pointwise backward gradcheck", 2, "lstm:pointwise_backward", (_PF, _PB)),
        Item("lstm_step forward values", 2, "lstm:step_forward", ("lstm_step_forward", _PF)),
        Item(
            "lstm_step backward gradcheck",
            3,
            "lstm:step_backward",
            ("lstm_step_forward", "lstm_step_backward", _PF, _PB),
        ),
        Item("lstm_forward values", 2, "lstm:forward", ("lstm_forward", _PF)),
        Item("lstm_forward masking", 2, "lstm:forward_masked", ("lstm_forward", _PF)),
        Item(
            "lstm_backward gradcheck",
            3,
            "lstm:backward",
            ("lstm_forward", "lstm_backward", _PF, _PB),
        ),
        Item(
            "lstm_backward masking and c0",
            2,
            "lstm:backward_masked",
            ("lstm_forward", "lstm_backward", _PF, _PB),
        ),
    ),
    instructions="lstm.md",
    notebook="lstm.py",
)

_RF, _RB = "reparameterize_forward", "reparameterize_backward"
_KF, _KB = "gaussian_kl_forward", "gaussian_kl_backward"
_CF, _CB = "softmax_cross_entropy_forward", "softmax_cross_entropy_backward"
VAE_PIECES = Assignment(
    name="vae_pieces",
    title="The pieces of the VAE objective: reparameterization, KL, cross-entropy",
    blanks=(
        _blanks("minivae.ops.reparameterize", _RF, _RB)
        + _blanks("minivae.ops.gaussian_kl", _KF, _KB)
        + _blanks("minivae.ops.softmax_cross_entropy", _CF, _CB)
    ),
    items=(
        Item("reparameterize forward", 1, "vae_pieces:reparameterize_forward", (_RF,)),
        Item("reparameterize backward", 2, "vae_pieces:reparameterize_backward", (_RF, _RB)),
        Item("kl forward", 1, "vae_pieces:kl_forward", (_KF,)),
        Item("kl forward with prior", 1, "vae_pieces:kl_forward_prior", (_KF,)),
        Item("kl backward", 2, "vae_pieces:kl_backward", (_KF, _KB)),
        Item("kl backward with prior", 2, "vae_pieces:kl_backward_prior", (_KF, _KB)),
        Item("cross-entropy forward", 1, "vae_pieces:ce_forward", (_CF,)),
        Item("cross-entropy backward", 2, "vae_pieces:ce_backward", (_CF, _CB)),
        Item("cross-entropy masking", 1, "vae_pieces:ce_masked", (_CF, _CB)),
    ),
    instructions="vae_pieces.md",
    notebook="vae_pieces.py",
)

# gru_step_forward and gru_forward both call _gru_pointwise_forward;
# gru_step_backward and gru_backward both call _gru_pointwise_backward.
_GPF, _GPB = "_gru_pointwise_forward", "_gru_pointwise_backward"
_GSF, _GSB = "gru_step_forward", "gru_step_backward"
GRU = Assignment(
    name="gru",
    title="The GRU cell and its sequence",
    blanks=_blanks("minivae.ops.gru", _GPF, _GPB, _GSF, _GSB, "gru_forward", "gru_backward"),
    items=(
        Item("gru_step forward values", 2, "gru:step_forward", (_GSF, _GPF)),
        Item("gru_step backward gradcheck", 3, "gru:step_backward", (_GSF, _GSB, _GPF, _GPB)),
        Item("gru_forward values", 2, "gru:forward", ("gru_forward", _GPF)),
        Item("gru_forward masking", 2, "gru:forward_masked", ("gru_forward", _GPF)),
        Item(
            "gru_backward gradcheck",
            3,
            "gru:backward",
            ("gru_forward", "gru_backward", _GPF, _GPB),
        ),
        Item(
            "gru_backward masking",
            2,
            "gru:backward_masked",
            ("gru_forward", "gru_backward", _GPF, _GPB),
        ),
    ),
    instructions="gru.md",
    notebook="gru.py",
)

# additive_attention_forward -> attention_keys_forward, additive_attention_step_forward
#   -> attend_forward (and the same for the backwards); bilinear attention is not blanked.
_AF, _AB = "attend_forward", "attend_backward"
_KPF, _KPB = "attention_keys_forward", "attention_keys_backward"
_SF, _SB = "additive_attention_step_forward", "additive_attention_step_backward"
_FF, _FB = "additive_attention_forward", "additive_attention_backward"
ATTENTION = Assignment(
    name="attention",
    title="Additive attention over a masked set of encoder states",
    blanks=_blanks("minivae.ops.attention", _AF, _AB, _KPF, _KPB, _SF, _SB, _FF, _FB),
    items=(
        Item("attend forward values and masking", 1, "attention:attend_forward", (_AF,)),
        Item("attend backward gradcheck", 2, "attention:attend_backward", (_AF, _AB)),
        Item(
            "additive attention forward values",
            2,
            "attention:additive_forward",
            (_FF, _KPF, _SF, _AF),
        ),
        Item("additive attention masking", 2, "attention:additive_masked", (_FF, _KPF, _SF, _AF)),
        Item(
            "split form over two decoder steps gradcheck",
            3,
            "attention:steps_backward",
            (_KPF, _KPB, _SF, _SB, _AF, _AB),
        ),
        Item(
            "additive attention backward gradcheck",
            2,
            "attention:additive_backward",
            (_FF, _FB, _KPF, _KPB, _SF, _SB, _AF, _AB),
        ),
    ),
    instructions="attention.md",
    notebook="attention.py",
)

ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (LSTM, VAE_PIECES, GRU, ATTENTION)}


def get_assignment(name: str) -> Assignment:
    try:
        return ASSIGNMENTS[name]
    except KeyError:
        raise ValueError(
            f"no assignment named {name!r}; the assignments are: {', '.join(ASSIGNMENTS)}"
        ) from None
