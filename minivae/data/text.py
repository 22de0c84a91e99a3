"""Reading corpora: one sentence per line (Penn Treebank style), source<TAB>target pairs, or two
line-aligned files (Multi30k style: line i of train.de translates line i of train.en)."""

from __future__ import annotations

from pathlib import Path


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file (and line)."""


MAX_CORPUS_BYTES = 2 << 30  # a corpus is read whole into memory (PTB's is 5 MB)
MAX_WORD_CHARS = 1000  # longer is no word (a run-on line, binary data); it would bloat the
# vocabulary that every checkpoint carries


def check_words(path, n: int, line: str) -> None:
    """Refuse a line holding a "word" longer than ``MAX_WORD_CHARS``, naming file and line."""
    if len(line) > MAX_WORD_CHARS:
        longest = max(map(len, line.split()), default=0)
        if longest > MAX_WORD_CHARS:
            raise CorpusError(
                f"{path}, line {n}: a word of {longest} characters, more than the "
                f"{MAX_WORD_CHARS} a word may have; is this a text file of words separated "
                "by spaces?"
            )


def tokenize(line: str, lowercase: bool = False) -> list[str]:
    """Whitespace tokens of a line."""
    return (line.lower() if lowercase else line).split()


def _numbered_lines(path) -> list[tuple[int, str]]:
    """(line number, text) of every line of a UTF-8 file, blank ones too.

    Lines end at "\n" (a "\r" before it is dropped), as ``wc -l`` and aligned corpora count
    them: ``str.splitlines`` would also break at form feeds, U+0085 or U+2028 inside a line,
    which would misalign the sides of a parallel corpus.
    """
    path = Path(path)
    if not path.exists():
        if path.is_symlink():
            raise CorpusError(
                f"corpus file {path} is a symbolic link to nothing (or a loop of links)"
            )
        raise CorpusError(f"corpus file {path} does not exist")
    if not path.is_file():
        raise CorpusError(f"corpus {path} is not a file")
    size = path.stat().st_size
    if size > MAX_CORPUS_BYTES:
        raise CorpusError(
            f"corpus file {path} is {size / 2**30:.1f} GiB, more than the "
            f"{MAX_CORPUS_BYTES / 2**30:.1f} GiB minivae reads (a corpus is read whole into "
            "memory); use a part of it"
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise CorpusError(
            f"{path}, line {line}, column {column} (byte offset {e.start}): not "
            f"UTF-8 (byte 0x{data[e.start]:02x}); save the file as UTF-8"
        ) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # after the newline that ends the last line: no line
    for n, line in enumerate(lines, start=1):
        check_words(path, n, line)
    return [(n, line.removesuffix("\r")) for n, line in enumerate(lines, start=1)]


def _read_lines(path) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line, with clear errors for unusable files."""
    lines = [(n, line) for n, line in _numbered_lines(path) if line.strip()]
    if not lines:
        raise CorpusError(f"corpus file {path} is empty (no non-blank line)")
    return lines


def read_sentences(path, lowercase: bool = False) -> list[list[str]]:
    """One tokenized sentence per non-blank line of a UTF-8 file."""
    return [tokenize(line, lowercase) for _, line in _read_lines(path)]


def read_pairs(path, lowercase: bool = False) -> list[tuple[list[str], list[str]]]:
    """``source<TAB>target`` per line -> (source tokens, target tokens) pairs."""
    pairs = []
    for n, line in _read_lines(path):
        if "\t" not in line:
            raise CorpusError(f"{path}, line {n}: no tab; expected 'source<TAB>target'")
        source, target = line.split("\t", 1)
        for side, text in (("source", source), ("target", target)):
            if not text.strip():
                raise CorpusError(f"{path}, line {n}: the {side} side is empty")
        pairs.append((tokenize(source, lowercase), tokenize(target, lowercase)))
    return pairs


def read_parallel(
    source_path, target_path, lowercase: bool = False
) -> list[tuple[list[str], list[str]]]:
    """Two line-aligned UTF-8 files -> (source tokens, target tokens) of each line pair.

    Unlike ``read_sentences``, a blank line is an error, not skipped: it would be the
    missing half of a pair, and skipping it would shift every later pair.
    """
    sides = [(path, _numbered_lines(path)) for path in (source_path, target_path)]
    (_, source), (_, target) = sides
    if len(source) != len(target):
        raise CorpusError(
            f"parallel files differ in length: {source_path} has {len(source)} lines, "
            f"{target_path} has {len(target)}; line i of one must translate line i of the other"
        )
    if not source:
        raise CorpusError(f"parallel files {source_path} and {target_path} are empty")
    for path, lines in sides:
        for n, line in lines:
            if not line.strip():
                raise CorpusError(
                    f"{path}, line {n}: empty; in line-aligned files every line is a "
                    "sentence, and a blank one would leave its partner without a pair"
                )
    return [
        (tokenize(src, lowercase), tokenize(tgt, lowercase))
        for (_, src), (_, tgt) in zip(source, target)
    ]
