"""Getting a public data set onto disk safely: resumable, checked, and never half-written.

One file is fetched by ``fetch_file``:

- it is written to ``NAME.part`` and renamed to ``NAME`` only once complete and checked, so a
  file with the final name is always whole (``os.replace`` is atomic on one file system);
- an existing ``NAME.part`` (an interrupted run) is continued with an HTTP ``Range`` request;
  a server that ignores the range (answers 200, not 206) is read again from the start;
- the bytes are checked against every checksum the table knows (``FileCheck``): a wrong
  checksum deletes the part file, so the next run starts clean instead of resuming garbage;
- a connection that ends before ``Content-Length`` bytes keeps the part file (the next run
  resumes it) and raises ``DownloadError`` saying so.

``download_dataset`` fetches the files of one ``DataSet`` (``minivae.data.sources``) and, for
an archive, writes the files it prepares from it (each checked, each renamed into place).
Every failure a user can meet is a ``DownloadError`` (a ``ValueError``) with one line naming
the file, the address and what went wrong; the CLI prints it as ``minivae data: error: ...``.

HTTP is the standard library's ``urllib``: nothing here needs more than GET with a Range
header, and it keeps the data path free of extra dependencies.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from minivae.files import make_writable_folder

CHUNK = 1 << 16  # bytes per read: small enough for a smooth progress bar
TIMEOUT_S = 60  # seconds without a byte before a connection counts as dead
PREPARED_HINT = (
    " (the archive itself passed its check, so the unpacking or tokenizing step gave other "
    "bytes than it did when the table was written; see minivae/data/sources.py)"
)


class DownloadError(ValueError):
    """A data set could not be fetched or failed its check; the message says which and why."""


@dataclass(frozen=True)
class FileCheck:
    """The published checksums of one file; each one that is not None is checked.

    ``sha256`` is preferred. ``md5`` and ``git_blob`` (the SHA-1 that git names a file by in a
    repository's tree, ``sha1(b"blob <size>\\0" + bytes)``) are there for files whose sha256
    could not be taken from a public copy; see each table entry's ``note``.
    """

    sha256: str | None = None
    md5: str | None = None
    git_blob: str | None = None

    def known(self) -> bool:
        return any((self.sha256, self.md5, self.git_blob))


def file_digests(path: Path) -> dict[str, str]:
    """sha256, md5 and git blob id of a file, read in chunks (files may be large)."""
    size = path.stat().st_size
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    git_blob = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            for h in (sha256, md5, git_blob):
                h.update(block)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest(), "git_blob": git_blob.hexdigest()}


def check_file(path: Path, check: FileCheck, what: str, then: str = "") -> None:
    """Raise DownloadError if ``path`` does not match every checksum ``check`` knows.

    ``what`` names the file in the message, ``then`` says what happens next.
    """
    got = file_digests(path)
    for kind in ("sha256", "md5", "git_blob"):
        want = getattr(check, kind)
        if want is not None and got[kind] != want.lower():
            raise DownloadError(
                f"wrong checksum for {what}: {kind} is {got[kind]}, expected {want} "
                f"({path.stat().st_size} bytes){then}"
            )


def _progress(total: int | None, initial: int, label: str):
    """The download's bar, under minivae's one progress policy (on a terminal only)."""
    from minivae.progress import progress_bar

    return progress_bar(
        total=total,
        initial=initial,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
    )


def _open(url: str, start: int):
    """GET ``url`` from byte ``start`` on; -> (response, bytes it will send or None, offset)."""
    request = urllib.request.Request(url, headers={"User-Agent": "minivae-data"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # the range starts at the end: the part file is whole
            return None, 0, start
        raise DownloadError(f"server error for {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"cannot reach {url}: {reason}") from None
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    if start and response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        if not content_range.startswith(f"bytes {start}-"):
            response.close()
            raise DownloadError(
                f"server error for {url}: asked for bytes {start}- and got {content_range!r}"
            )
        return response, length, start
    return response, length, 0  # 200: the whole file, whatever we asked for


def fetch_file(url: str, dest: Path, check: FileCheck, label: str | None = None) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), check it, rename it into place.

    A ``dest`` already there is checked and kept (nothing is fetched); if it fails the check
    it is named, never overwritten. Raises DownloadError for a server error, an unreachable
    server, a download that ends early (the part file is kept for the next run) or a wrong
    checksum (the part is deleted).
    """
    dest = Path(dest)
    label = label or dest.name
    if dest.is_file():  # never overwrite a file the user may have changed: name it instead
        check_file(dest, check, f"{dest}, already there", "; move it away to fetch it again")
        return dest
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    response, length, offset = _open(url, start)
    if response is not None:
        received = offset
        try:
            with response, open(part, "ab" if offset else "wb") as out:
                total = offset + length if length is not None else None
                with _progress(total, offset, label) as bar:
                    while block := response.read(CHUNK):
                        out.write(block)
                        received += len(block)
                        bar.update(len(block))
        except (http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
            raise DownloadError(
                f"download of {url} ended early after {received} bytes ({e.__class__.__name__}); "
                f"the part is kept in {part}: run the same command again to resume"
            ) from None
        if length is not None and received < offset + length:
            raise DownloadError(
                f"download of {url} ended early: {received} of {offset + length} bytes; "
                f"the part is kept in {part}: run the same command again to resume"
            )
    try:
        check_file(part, check, url, "; the download was deleted: run again to fetch it anew")
    except DownloadError:
        part.unlink()
        raise
    os.replace(part, dest)  # atomic: a file with the final name is always complete
    return dest


def write_atomically(dest: Path, data: bytes, check: FileCheck | None = None) -> None:
    """Write ``data`` to ``dest`` through a temporary name, checking it before the rename."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_bytes(data)
    if check is not None and check.known():
        try:
            check_file(tmp, check, f"{dest} as prepared here", PREPARED_HINT)
        except DownloadError:
            tmp.unlink()
            raise
    os.replace(tmp, dest)


def _writable_folder(folder: Path) -> None:
    try:
        make_writable_folder(folder)
    except OSError as e:
        raise DownloadError(f"cannot write to {folder}: {e.strerror or e}") from None


def download_dataset(dataset, to: str | os.PathLike, mirror: str | None = None) -> list[Path]:
    """Fetch ``dataset`` (a ``minivae.data.sources.DataSet``) into ``to/<dataset.name>/``.

    ``mirror``: fetch every file from ``<mirror>/<dataset.name>/<file name>`` instead of the
    public address (a local copy, or the tests' server on 127.0.0.1); the checksums stay the
    same. Returns the paths of the data set's files in the layout the project reads.
    """
    try:
        return _download_dataset(dataset, Path(to) / dataset.name, mirror)
    except DownloadError:
        raise
    except OSError as e:  # a full disk, a folder where a file should go, ...
        raise DownloadError(f"cannot write {dataset.name} into {to}: {e}") from None


def _download_dataset(dataset, folder: Path, mirror: str | None) -> list[Path]:
    _writable_folder(folder)
    outputs = [folder / name for name in dataset.outputs]
    if dataset.prepare is None:  # the downloads are the files themselves
        return [
            fetch_file(_url(f, dataset, mirror), folder / f.name, f.check) for f in dataset.files
        ]
    if all(_passes(path, dataset.outputs[path.name]) for path in outputs):
        return outputs  # already prepared and checked
    staging = folder / ".download"  # archives stay here until their files are prepared
    _writable_folder(staging)
    archives = {
        f.name: fetch_file(_url(f, dataset, mirror), staging / f.name, f.check)
        for f in dataset.files
    }
    try:
        prepared = dataset.prepare(archives)
    except DownloadError:
        raise
    except (OSError, ValueError, EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error) as e:
        # An archive that no checksum vouches for may be the culprit (a download cut short
        # by a server that sent no length): delete it, or every later run would reuse it.
        unverified = [f.name for f in dataset.files if not f.check.known()]
        for name in unverified:
            archives[name].unlink(missing_ok=True)
        then = (
            f"; deleted {', '.join(unverified)}: run again to fetch it anew" if unverified else ""
        )
        raise DownloadError(f"cannot unpack {dataset.name}'s archives: {e}{then}") from None
    for name, data in prepared.items():
        write_atomically(folder / name, data, dataset.outputs[name])
    shutil.rmtree(staging)
    return outputs


def _url(remote, dataset, mirror: str | None) -> str:
    return f"{mirror.rstrip('/')}/{dataset.name}/{remote.name}" if mirror else remote.url


def _passes(path: Path, check: FileCheck) -> bool:
    if not path.is_file() or not check.known():
        return False
    try:
        check_file(path, check, str(path))
        return True
    except DownloadError:
        return False
