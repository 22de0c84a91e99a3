"""``minivae gradcheck``: check every op (and every model) against finite differences."""

from __future__ import annotations

import math


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="gradient-check every op and the whole models in float64",
        description="Compare every hand-written gradient with central finite differences "
        "(float64) and print op, input, shape, max relative error and pass/FAIL. An op still "
        "to be written (a student's copy) shows as 'not implemented'. Exits 1 if anything "
        "fails.",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random test inputs")
    p.add_argument("--tol", type=float, default=None, help="fail above this relative error")
    p.add_argument("--ops-only", action="store_true", help="skip the whole-model checks")
    p.set_defaults(func=run)


def run(args) -> int:
    from minivae.cli.common import fail
    from minivae.gradcheck import DEFAULT_TOL, format_table
    from minivae.gradcheck.op_cases import check_all_ops

    if args.seed < 0:
        return fail("gradcheck", ValueError(f"--seed must be at least 0, got {args.seed}"))
    if args.tol is not None and not (0 < args.tol < math.inf):  # -1 fails every row, inf none
        return fail(
            "gradcheck", ValueError(f"--tol must be a positive relative error, got {args.tol}")
        )
    tol = args.tol or DEFAULT_TOL
    rows = check_all_ops(seed=args.seed, tol=tol)
    if not args.ops_only:
        from minivae.gradcheck.models import check_all_models

        rows += check_all_models(seed=args.seed, tol=tol)
    print(format_table(rows))
    missing = [r for r in rows if r.note]
    failed = [r for r in rows if not r.passed and not r.note]
    print(
        f"\n{len(rows) - len(failed) - len(missing)} passed, {len(failed)} failed, "
        f"{len(missing)} not implemented (tolerance {tol:g})"
    )
    return 1 if failed or missing else 0
