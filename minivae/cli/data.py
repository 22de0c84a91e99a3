"""``minivae data``: list the public data sets the docs use, and download them.

``minivae data download ptb --to data`` writes ``data/ptb/ptb.{train,valid,test}.txt``: the
layout the README, docs and ``experiments/*.sh`` read (``DATA=data experiments/run.sh``).
The table of sources, licences and checksums is ``minivae/data/sources.py``; the fetching
(resume, check, atomic rename) is ``minivae/data/download.py``.
"""

from __future__ import annotations

import os
import sys

MIRROR_ENV = "MINIVAE_DATA_MIRROR"


def _catalogue() -> str:
    from minivae.data.sources import DATASETS

    return " ".join(
        f"{d.name}: {d.title}. Source: {d.source}. Licence: {d.licence}." for d in DATASETS.values()
    )


def add_parser(sub) -> None:
    p = sub.add_parser(
        "data",
        help="list and download the public data sets (PTB, Multi30k, DailyDialog)",
        description="The public data sets the README and docs use: where they come from, "
        "under what terms, and a checked download into the layout the project reads.",
    )
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    listing = data_sub.add_parser(
        "list",
        help="each data set's files, public source, licence and what its checksums verify",
    )
    listing.set_defaults(func=run_list)
    down = data_sub.add_parser(
        "download",
        help="download data sets into DIR/NAME/ (checked, resumable)",
        description="Download NAME into DIR/NAME/ with the file names the docs read. Each "
        "file is checked against its published checksum (sha256 where one could be taken "
        "from a public copy; see 'minivae data list'), an interrupted download resumes where "
        "it stopped (HTTP Range), and a file appears under its final name only once whole "
        "and checked. Running it again skips what is already there.",
        epilog=_catalogue(),
    )
    down.add_argument("names", nargs="+", metavar="NAME", help="ptb, multi30k, dailydialog or all")
    down.add_argument(
        "--to",
        required=True,
        metavar="DIR",
        help="the data folder: NAME goes into DIR/NAME/ (the docs' DIR is ../shared/data)",
    )
    down.add_argument(
        "--mirror",
        default=os.environ.get(MIRROR_ENV),
        metavar="URL",
        help=f"fetch every file from URL/NAME/FILE instead of its public address (a local "
        f"copy; the checksums still apply; default: ${MIRROR_ENV} or the public address)",
    )
    down.set_defaults(func=run_download)
    p.set_defaults(func=run_list)


def run_list(args) -> int:
    from minivae.data.sources import DATASETS

    for d in DATASETS.values():
        print(f"{d.name}: {d.title}")
        print(f"  files:    {', '.join(d.outputs)}")
        print(f"  source:   {d.source}")
        print(f"  licence:  {d.licence}")
        print(f"  verified: {d.verified}")
    print("\nminivae data download NAME --to DIR  writes DIR/NAME/<files>")
    return 0


def run_download(args) -> int:
    from minivae.cli.common import fail
    from minivae.data.download import DownloadError, download_dataset
    from minivae.data.sources import DATASETS

    names = list(DATASETS) if "all" in args.names else list(dict.fromkeys(args.names))
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        return fail(
            "data",
            ValueError(f"unknown data set {unknown[0]!r} (known: {', '.join(DATASETS)}, all)"),
        )
    for name in names:
        dataset = DATASETS[name]
        print(f"{name}: {dataset.source}", file=sys.stderr)
        print(f"{name}: licence: {dataset.licence}", file=sys.stderr)
        try:
            paths = download_dataset(dataset, args.to, mirror=args.mirror)
        except DownloadError as e:
            return fail("data", e)
        for path in paths:
            print(path)
    return 0
