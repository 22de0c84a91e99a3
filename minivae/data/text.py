"""Reading corpora: one sentence per line (Penn Treebank style), or source<TAB>target pairs."""

from __future__ import annotations

from pathlib import Path


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file (and line)."""


def tokenize(line: str, lowercase: bool = False) -> list[str]:
    """Whitespace tokens of a line."""
    return (line.lower() if lowercase else line).split()


def _read_lines(path) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line, with clear errors for unusable files."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus file {path} does not exist")
    if not path.is_file():
        raise CorpusError(f"corpus {path} is not a file")
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
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
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
