"""minivae data download: resumed, truncated, corrupted and refused downloads, served from a
local HTTP server on 127.0.0.1 (a random free port; nothing leaves the machine)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from minivae.cli import main
from minivae.data.download import DownloadError, FileCheck, download_dataset, fetch_file
from minivae.data.sources import DATASETS, MULTI30K, DataSet, RemoteFile

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared/data"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """Serves ``routes`` {path: (mode, bytes)} and records each request's Range header.

    Modes: "ok" honours Range (206, or 416 past the end); "no-range" always sends the whole
    file with 200; "truncate" promises the whole length but sends half and hangs up;
    an int is an HTTP error status (404, 500, ...).
    """

    def __init__(self):
        self.routes: dict[str, tuple[object, bytes]] = {}
        self.ranges: list[str | None] = []
        self.sent = 0  # body bytes sent, all requests together
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                server.ranges.append(self.headers.get("Range"))
                mode, body = server.routes.get(self.path, (404, b""))
                if isinstance(mode, int):
                    self.send_error(mode)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and mode == "ok":
                    start = int(rng.removeprefix("bytes=").rstrip("-"))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if mode == "truncate":
                    chunk = chunk[: len(chunk) // 2]
                # counted before the write: the client may have read it all and the test
                # checked the count before this thread runs again (a busy machine did)
                server.sent += len(chunk)
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


BODY_A = b"the cat sat on the mat\n" * 5000  # ~115 KB: several reads of 64 KiB
BODY_B = b"a dog ran in the park\n" * 300


def toy_dataset(url: str) -> DataSet:
    """Two plain files, their checksums known: the shape of the PTB entry."""
    return DataSet(
        name="toy",
        title="toy",
        source=url,
        licence="none",
        files=(
            RemoteFile("a.txt", f"{url}/toy/a.txt", FileCheck(sha256=sha256(BODY_A))),
            RemoteFile("b.txt", f"{url}/toy/b.txt", FileCheck(sha256=sha256(BODY_B))),
        ),
        outputs={"a.txt": FileCheck(sha256(BODY_A)), "b.txt": FileCheck(sha256(BODY_B))},
    )


# --- fetching one file ---------------------------------------------------------------------


def test_happy_path_writes_checked_files_and_a_second_run_fetches_nothing(server, tmp_path):
    server.routes = {"/toy/a.txt": ("ok", BODY_A), "/toy/b.txt": ("ok", BODY_B)}
    paths = download_dataset(toy_dataset(server.url), tmp_path)
    assert [p.read_bytes() for p in paths] == [BODY_A, BODY_B]
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == ["a.txt", "b.txt"]  # no .part
    requests = len(server.ranges)
    download_dataset(toy_dataset(server.url), tmp_path)
    assert len(server.ranges) == requests  # already there and checked: nothing fetched


def test_a_partial_file_is_resumed_with_a_range_request(server, tmp_path):
    server.routes = {"/toy/a.txt": ("ok", BODY_A)}
    dest = tmp_path / "a.txt"
    (tmp_path / "a.txt.part").write_bytes(BODY_A[:40000])
    fetch_file(f"{server.url}/toy/a.txt", dest, FileCheck(sha256=sha256(BODY_A)))
    assert server.ranges == ["bytes=40000-"]
    assert server.sent == len(BODY_A) - 40000  # only the rest travelled
    assert dest.read_bytes() == BODY_A and not (tmp_path / "a.txt.part").exists()


def test_a_complete_part_file_gets_416_and_is_kept(server, tmp_path):
    server.routes = {"/toy/a.txt": ("ok", BODY_A)}
    (tmp_path / "a.txt.part").write_bytes(BODY_A)
    fetch_file(f"{server.url}/toy/a.txt", tmp_path / "a.txt", FileCheck(sha256=sha256(BODY_A)))
    assert server.sent == 0 and (tmp_path / "a.txt").read_bytes() == BODY_A


def test_a_server_that_ignores_range_is_read_from_the_start(server, tmp_path):
    server.routes = {"/toy/a.txt": ("no-range", BODY_A)}
    (tmp_path / "a.txt.part").write_bytes(b"stale bytes that must not stay in front")
    fetch_file(f"{server.url}/toy/a.txt", tmp_path / "a.txt", FileCheck(sha256=sha256(BODY_A)))
    assert (tmp_path / "a.txt").read_bytes() == BODY_A


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_progress_bar_on_a_terminal_only(server, tmp_path, monkeypatch):
    server.routes = {"/toy/a.txt": ("ok", BODY_A)}
    check = FileCheck(sha256(BODY_A))
    monkeypatch.setattr(sys, "stderr", Terminal())
    fetch_file(f"{server.url}/toy/a.txt", tmp_path / "a.txt", check)
    assert "a.txt: " in sys.stderr.getvalue() and "/112k [" in sys.stderr.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file, a pipe
    fetch_file(f"{server.url}/toy/a.txt", tmp_path / "b.txt", check)
    assert sys.stderr.getvalue() == ""


def test_a_truncated_download_keeps_its_part_and_the_next_run_resumes_it(server, tmp_path):
    url, dest, check = f"{server.url}/toy/a.txt", tmp_path / "a.txt", FileCheck(sha256(BODY_A))
    server.routes = {"/toy/a.txt": ("truncate", BODY_A)}
    with pytest.raises(DownloadError, match=r"ended early: 57500 of 115000 bytes.*resume"):
        fetch_file(url, dest, check)
    assert not dest.exists()  # nothing under the final name
    assert (tmp_path / "a.txt.part").read_bytes() == BODY_A[:57500]
    server.routes = {"/toy/a.txt": ("ok", BODY_A)}
    fetch_file(url, dest, check)
    assert server.ranges[-1] == "bytes=57500-" and dest.read_bytes() == BODY_A


def test_a_wrong_checksum_deletes_the_download(server, tmp_path):
    server.routes = {"/toy/a.txt": ("ok", BODY_A[:-1] + b"?")}
    with pytest.raises(DownloadError, match=r"wrong checksum for .*/toy/a.txt: sha256 is"):
        fetch_file(f"{server.url}/toy/a.txt", tmp_path / "a.txt", FileCheck(sha256(BODY_A)))
    assert list(tmp_path.iterdir()) == []  # neither the file nor a part to resume


def test_md5_and_git_blob_are_checked_too(server, tmp_path):
    server.routes = {"/toy/b.txt": ("ok", BODY_B)}
    git_blob = hashlib.sha1(b"blob %d\0" % len(BODY_B) + BODY_B).hexdigest()
    good = FileCheck(md5=hashlib.md5(BODY_B).hexdigest(), git_blob=git_blob)
    fetch_file(f"{server.url}/toy/b.txt", tmp_path / "b.txt", good)
    bad = FileCheck(md5=hashlib.md5(BODY_B).hexdigest(), git_blob="0" * 40)
    with pytest.raises(DownloadError, match="git_blob is"):
        fetch_file(f"{server.url}/toy/b.txt", tmp_path / "c.txt", bad)


@pytest.mark.parametrize("status", [404, 500])
def test_a_server_error_is_named(server, tmp_path, status):
    server.routes = {"/toy/a.txt": (status, b"")}
    with pytest.raises(DownloadError, match=f"server error for .*/toy/a.txt: HTTP {status}"):
        fetch_file(f"{server.url}/toy/a.txt", tmp_path / "a.txt", FileCheck(sha256(BODY_A)))
    assert list(tmp_path.iterdir()) == []


def test_a_changed_file_already_there_is_named_not_overwritten(server, tmp_path):
    server.routes = {"/toy/a.txt": ("ok", BODY_A)}
    (tmp_path / "a.txt").write_bytes(b"my own edits")
    with pytest.raises(DownloadError, match="already there.*move it away"):
        fetch_file(f"{server.url}/toy/a.txt", tmp_path / "a.txt", FileCheck(sha256(BODY_A)))
    assert (tmp_path / "a.txt").read_bytes() == b"my own edits" and server.ranges == []


# --- the command ---------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(["data", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_unknown_name_is_exit_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "download", "ptbb", "--to", str(tmp_path))
    assert code == 2
    assert err.strip() == (
        "minivae data: error: unknown data set 'ptbb' (known: ptb, multi30k, dailydialog, all)"
    )


def test_cli_wrong_checksum_of_the_real_table_is_exit_2(server, capsys, tmp_path):
    # The real PTB entry through --mirror: bytes that are not PTB fail its published checksums.
    server.routes = {"/ptb/ptb.train.txt": ("ok", b"not the penn treebank\n")}
    code, _, err = run_cli(capsys, "download", "ptb", "--to", str(tmp_path), "--mirror", server.url)
    assert code == 2
    assert "minivae data: error: wrong checksum for " in err and "Traceback" not in err
    assert not (tmp_path / "ptb/ptb.train.txt").exists()
    assert "%|" not in err  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("status", [404, 500])
def test_cli_server_error_is_exit_2(server, capsys, tmp_path, status):
    server.routes = {"/ptb/ptb.train.txt": (status, b"")}
    code, _, err = run_cli(capsys, "download", "ptb", "--to", str(tmp_path), "--mirror", server.url)
    assert code == 2 and f"minivae data: error: server error for {server.url}/ptb/" in err
    assert f"HTTP {status}" in err


def test_cli_truncated_download_is_exit_2(server, capsys, tmp_path):
    server.routes = {"/ptb/ptb.train.txt": ("truncate", b"x" * 1000)}
    code, _, err = run_cli(capsys, "download", "ptb", "--to", str(tmp_path), "--mirror", server.url)
    assert code == 2 and "minivae data: error: download of " in err and "ended early" in err
    assert (tmp_path / "ptb/ptb.train.txt.part").stat().st_size == 500


def test_cli_unreachable_server_is_exit_2(capsys, tmp_path):
    s = Server()
    url = s.url
    s.close()  # nothing listens there any more
    code, _, err = run_cli(capsys, "download", "ptb", "--to", str(tmp_path), "--mirror", url)
    assert code == 2 and f"minivae data: error: cannot reach {url}/ptb/" in err


def test_cli_unwritable_folder_is_exit_2(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a folder cannot be made under a file, even by root
    code, _, err = run_cli(capsys, "download", "ptb", "--to", str(blocker / "data"))
    assert code == 2 and f"minivae data: error: cannot write to {blocker}/data/ptb" in err


def test_cli_list_names_sources_and_licences(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for d in DATASETS.values():
        assert f"{d.name}: {d.title}" in out and d.licence in out and d.source in out
    assert "CC BY-NC-SA 4.0" in out and "LDC99T42" in out and "non-commercial" in out


# --- archives: Multi30k's tarballs, DailyDialog's zips ------------------------------------


def tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def with_archives(dataset: DataSet, archives: dict[str, bytes], outputs=None) -> DataSet:
    """The real entry (its preparing step, file names, layout) with checksums of test bytes."""
    files = tuple(
        dataclasses.replace(f, check=FileCheck(sha256=sha256(archives[f.name])))
        for f in dataset.files
    )
    outputs = outputs or {name: FileCheck() for name in dataset.outputs}
    return dataclasses.replace(dataset, files=files, outputs=outputs)


EN = "Two young, White males are outside near many bushes.\nA little boy at a McDonald's.\n\n"
DE = "Ein Boston Terrier läuft über saftig-grünes Gras.\nEin Junge.\n\n"


def test_multi30k_archives_become_the_tokenized_layout(server, tmp_path):
    archives = {
        "training.tar.gz": tar_gz({"train.en": EN.encode(), "train.de": DE.encode()}),
        "validation.tar.gz": tar_gz({"val.en": EN.encode(), "val.de": DE.encode()}),
        "mmt16_task1_test.tar.gz": tar_gz(
            {"./._test.en": b"\x00mac", "./test.en": EN.encode(), "./test.de": DE.encode()}
        ),
    }
    server.routes = {f"/multi30k/{n}": ("ok", data) for n, data in archives.items()}
    dataset = with_archives(MULTI30K, archives)
    download_dataset(dataset, tmp_path, mirror=server.url)
    folder = tmp_path / "multi30k"
    names = ["test.de", "test.en", "train.de", "train.en", "val.de", "val.en"]
    assert sorted(p.name for p in folder.iterdir()) == names  # archives gone
    assert (folder / "train.en").read_text() == (
        "Two young , White males are outside near many bushes .\n"
        "A little boy at a McDonald 's .\n"  # no &apos;, the trailing empty line dropped
    )
    assert (folder / "test.de").read_text(encoding="utf-8").splitlines()[0] == (
        "Ein Boston Terrier läuft über saftig @-@ grünes Gras ."
    )


def test_a_prepared_file_with_other_bytes_than_the_table_is_exit_2(server, tmp_path):
    archives = {
        "training.tar.gz": tar_gz({"train.en": EN.encode(), "train.de": DE.encode()}),
        "validation.tar.gz": tar_gz({"val.en": EN.encode(), "val.de": DE.encode()}),
        "mmt16_task1_test.tar.gz": tar_gz({"test.en": EN.encode(), "test.de": DE.encode()}),
    }
    server.routes = {f"/multi30k/{n}": ("ok", data) for n, data in archives.items()}
    dataset = with_archives(MULTI30K, archives, outputs=dict(MULTI30K.outputs))  # real sums
    with pytest.raises(DownloadError, match="wrong checksum for .* as prepared here"):
        download_dataset(dataset, tmp_path, mirror=server.url)
    assert not list((tmp_path / "multi30k").glob("*.??"))  # no train.en etc. half-made


def test_dailydialog_nested_zips_are_unpacked_into_the_layout(server, tmp_path):
    dd = DATASETS["dailydialog"]
    inner = {
        split: zipped(
            {
                f"{split}/dialogues_{split}.txt": f"Hi . __eou__ Yo ! __eou__ ({split})\n".encode(),
                f"{split}/dialogues_act_{split}.txt": b"2 1 \n",
                f"{split}/dialogues_emotion_{split}.txt": b"0 4 \n",
            }
        )
        for split in ("train", "validation", "test")
    }
    outer = zipped({f"ijcnlp_dailydialog/{s}.zip": data for s, data in inner.items()})
    server.routes = {"/dailydialog/ijcnlp_dailydialog.zip": ("ok", outer)}
    download_dataset(
        with_archives(dd, {"ijcnlp_dailydialog.zip": outer}), tmp_path, mirror=server.url
    )
    folder = tmp_path / "dailydialog"
    assert sorted(p.name for p in folder.iterdir()) == sorted(dd.outputs)
    assert (folder / "dialogues_test.txt").read_text() == "Hi . __eou__ Yo ! __eou__ (test)\n"
    assert (folder / "dialogues_act_validation.txt").read_bytes() == b"2 1 \n"


def test_a_damaged_archive_is_exit_2_not_a_traceback(server, capsys, tmp_path):
    junk = b"PK\x03\x04 not really a zip"
    server.routes = {"/dailydialog/ijcnlp_dailydialog.zip": ("ok", junk)}
    # The real entry: its zip has no published checksum, so the damage shows on unpacking.
    code, _, err = run_cli(
        capsys, "download", "dailydialog", "--to", str(tmp_path), "--mirror", server.url
    )
    assert code == 2 and "minivae data: error: cannot unpack dailydialog's archives" in err
    assert "deleted ijcnlp_dailydialog.zip: run again" in err
    assert not (tmp_path / "dailydialog/.download/ijcnlp_dailydialog.zip").exists()


def test_a_folder_in_the_way_of_a_file_is_a_download_error(server, tmp_path):
    server.routes = {"/toy/a.txt": ("ok", BODY_A), "/toy/b.txt": ("ok", BODY_B)}
    (tmp_path / "toy/a.txt").mkdir(parents=True)
    with pytest.raises(DownloadError, match=r"cannot write toy into .*Is a directory"):
        download_dataset(toy_dataset(server.url), tmp_path)


def test_sacremoses_is_a_core_dependency():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert any(d.startswith("sacremoses") for d in pyproject["project"]["dependencies"])


# --- the table against the project's own copies --------------------------------------------


@pytest.mark.skipif(not (SHARED_DATA / "ptb").is_dir(), reason=f"no data at {SHARED_DATA}")
@pytest.mark.parametrize("name", ["ptb", "multi30k", "dailydialog"])
def test_the_table_matches_the_copies_the_figures_were_made_with(name):
    dataset = DATASETS[name]
    differ = {"multi30k": {"test.de"}}.get(name, set())  # see minivae/data/sources.py
    for file, check in dataset.outputs.items():
        path = SHARED_DATA / name / file
        if not path.exists() or file in differ:
            continue
        data = path.read_bytes()
        if check.sha256:
            assert sha256(data) == check.sha256, file
        if check.md5:
            assert hashlib.md5(data).hexdigest() == check.md5, file
        if check.git_blob:
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            assert blob == check.git_blob, file
    for file in differ:  # the difference README.md and sources.py describe is still there
        path = SHARED_DATA / name / file
        if path.exists():
            assert sha256(path.read_bytes()) != dataset.outputs[file].sha256
