"""``minivae assignment``: make student copies with functions to write, and grade them."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "assignment",
        help="make and grade student assignments",
        description="Teaching assignments: 'make' writes a student copy of minivae with "
        "some functions blanked, 'grade' grades a student's copy.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    actions.add_parser("list", help="show the assignments and their graded items").set_defaults(
        func=run_list
    )

    make = actions.add_parser("make", help="write a student copy of the package")
    make.add_argument("name", help="the assignment (see 'minivae assignment list')")
    make.add_argument("--out", required=True, help="folder to write the copy to")
    make.add_argument(
        "--solution", action="store_true", help="leave the functions in (to test the grader)"
    )
    make.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    make.set_defaults(func=run_make)

    grade = actions.add_parser(
        "grade",
        help="grade a student's copy",
        description="Grade a student's copy as the assignment named here (never the one the "
        "copy's .assignment.json names). The student's code runs in child processes confined "
        "by bubblewrap (their own namespaces: only Python, NumPy and the copy in view), as "
        "user nobody when this runs as root; only their arrays come back, judged here.",
    )
    grade.add_argument("dir", help="the student's copy (made by 'make')")
    grade.add_argument(
        "--assignment", required=True, help="the assignment to grade it as (see 'list')"
    )
    grade.add_argument("--results", help="Gradescope results.json path (default DIR/results.json)")
    grade.add_argument("--timeout", type=float, default=None, help="seconds per item (60)")
    grade.add_argument(
        "--item", action="append", metavar="NAME", help="grade only this item (repeatable)"
    )
    grade.add_argument(
        "--memory-mb",
        type=int,
        default=None,
        help="memory limit per item, for all its processes together (2048)",
    )
    grade.add_argument(
        "--python", help="the interpreter of the child processes (default: this one's base)"
    )
    grade.add_argument("--user", help="who the child processes run as, as root (nobody)")
    grade.add_argument(
        "--unconfined",
        action="store_true",
        help="run the students' code WITHOUT the sandbox, where namespaces are not available "
        "(results.json then says so); see docs/assignments.md",
    )
    grade.set_defaults(func=run_grade)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_list(args) -> int:
    from minivae.assignments.spec import ASSIGNMENTS

    for a in ASSIGNMENTS.values():
        print(f"{a.name}: {a.title} ({a.max_score:g} points)")
        print("  write: " + ", ".join(b.function for b in a.blanks))
        files = dict.fromkeys(b.module.replace(".", "/") + ".py" for b in a.blanks)
        print("  in: " + " ".join(files))
        for item in a.items:
            print(f"  {item.points:>3g}  {item.name}")
        print()
    return 0


def run_make(args) -> int:
    from minivae.assignments.make import make_assignment
    from minivae.cli.common import fail

    try:
        out = make_assignment(args.name, args.out, solution=args.solution, force=args.force)
    except (ValueError, FileExistsError, LookupError) as e:
        return fail("assignment make", e)
    print(f"wrote {out} (instructions in {out / 'README.md'})")
    return 0


def run_grade(args) -> int:
    import sys
    from pathlib import Path

    from minivae.assignments import grade as g
    from minivae.cli.common import fail

    if not Path(args.dir).is_dir():  # before --results, whose default lies inside it
        why = "is not a folder" if Path(args.dir).exists() else "does not exist"
        return fail("assignment grade", ValueError(f"the student copy {args.dir} {why}"))
    results = Path(args.results) if args.results else Path(args.dir) / "results.json"
    if not results.parent.is_dir() or results.is_dir():
        why = f"{results} is a folder" if results.is_dir() else f"no folder {results.parent}"
        return fail("assignment grade", ValueError(f"--results: {why}"))
    try:
        report = g.grade(
            args.dir,
            args.assignment,
            timeout=g.DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
            memory_mb=g.DEFAULT_MEMORY_MB if args.memory_mb is None else args.memory_mb,
            only=args.item,
            python=args.python,
            user=args.user,
            unconfined=args.unconfined,
        )
    except ValueError as e:
        return fail("assignment grade", e)
    except OSError as e:  # the grader's own files: a full disk, a file-size limit (ulimit -f)
        return fail("assignment grade", _cannot_write(e))
    for warning in report.warnings:
        print(f"minivae assignment grade: warning: {warning}", file=sys.stderr)
    print(f"{report.assignment.name}: {report.assignment.title}\n")
    print(report.table())
    try:
        g.write_results(report, results)
    except OSError as e:
        return fail("assignment grade", _cannot_write(e))
    print(f"\nwrote {results}")
    return 0


def _cannot_write(error: OSError) -> ValueError:
    import errno

    hint = " (a file-size limit, 'ulimit -f', is in force)" if error.errno == errno.EFBIG else ""
    where = f" {error.filename}" if error.filename else ""
    return ValueError(f"the grader could not write its files{where}: {error.strerror}{hint}")
