"""``minivae gradcheck``: check every op (and the whole model) against finite differences."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="gradient-check every op and the whole model in float64",
        description="Compare every hand-written gradient with central finite differences "
        "(float64) and print op, input, shape, max relative error and pass/FAIL. "
        "Exits 1 if anything fails.",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random test inputs")
    p.add_argument("--tol", type=float, default=None, help="fail above this relative error")
    p.add_argument("--ops-only", action="store_true", help="skip the whole-model check")
    p.set_defaults(func=run)


def run(args) -> int:
    from minivae.gradcheck import DEFAULT_TOL, format_table, not_implemented
    from minivae.gradcheck_cases import check_all_ops

    tol = args.tol or DEFAULT_TOL
    rows = check_all_ops(seed=args.seed, tol=tol)
    if not args.ops_only:
        for label, check in _model_checks(args.seed, tol):
            try:
                rows += check()
            except NotImplementedError:  # a student's copy, with functions still to write
                rows.append(not_implemented(label))
    print(format_table(rows))
    failed = [r for r in rows if not r.passed]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed (tolerance {tol:g})")
    return 1 if failed else 0


def _model_checks(seed: int, tol: float):
    """Yield (label, check): the whole model and the conditional VAE, each a function of no
    arguments returning its rows."""
    from functools import partial

    from minivae.conditional.gradcheck import check_cvae, check_prior_kl, tiny_config
    from minivae.model import ModelConfig
    from minivae.model.gradcheck import check_model

    # kernel "auto" runs the fused Numba kernels on the CPU, "array" the array code.
    for cell, z_mode, shared, kernel in (
        ("lstm", "both", True, "auto"),
        ("lstm", "both", True, "array"),
        ("gru", "both", False, "auto"),
    ):
        config = ModelConfig(
            vocab_size=11,
            embed_dim=4,
            hidden_dim=5,
            latent_dim=3,
            cell=cell,
            z_mode=z_mode,
            share_embeddings=shared,
        )
        label = f"model ({cell}{', array code' if kernel == 'array' else ''})"
        yield label, partial(check_model, config, seed=seed, tol=tol, label=label, kernel=kernel)
    yield "prior kl", partial(check_prior_kl, seed=seed, tol=tol)
    for condition, cell in (("sequence", "lstm"), ("label", "gru")):
        label = f"cvae ({condition}, {cell})"
        config = tiny_config(condition, cell=cell)
        yield label, partial(check_cvae, config, seed=seed, tol=tol, label=label)
