"""The filesystem view and namespaces a child runs in: a ``bwrap`` (bubblewrap) command line.

Why bubblewrap rather than ``unshare`` and mounts written here: setting up a root that holds
only some folders takes a dozen steps in the right order (user and mount namespaces, a new
root on a tmpfs, bind mounts made read-only one by one, ``pivot_root``, a fresh ``/proc``
for the new pid namespace, an init that reaps, no new privileges, death with the parent),
and a step missed or misordered is a hole that no test of ours would notice. bubblewrap
does exactly these steps, is small, packaged by every distribution (Debian: ``bubblewrap``)
and is what Flatpak trusts with untrusted applications. It runs unprivileged (it needs only
user namespaces), so the grader starts it as the children's user, never as root.

Inside, the child sees

* the Python runtime: its executable, its standard library (with ``site-packages`` and
  ``dist-packages`` hidden under empty folders) and the folders of the shared libraries
  it and NumPy load, read-only;
* ``/site`` (NumPy alone), ``/program`` (``child.py`` and the item definitions) and
  ``/copy`` (the student's copy), read-only;
* ``/work`` (its working folder), ``/tmp`` and ``/dev/shm``: empty, private, size-limited
  tmpfs; ``/work/out.npz``, the one file of the grader's it may write;
* its own ``/proc`` (no other process is visible) and a minimal ``/dev``;

and nothing else: no network, no other user namespace, no file of the grader's.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

TMPFS_BYTES = 64 * 2**20  # each of /work, /tmp and /dev/shm
COPY, PROGRAM, SITE, WORK = "/copy", "/program", "/site", "/work"
# Folders of Python packages inside a bound folder: hidden, whatever they hold.
PACKAGE_FOLDERS = ("site-packages", "dist-packages", "python3*/site-packages",
                   "python3*/dist-packages", "python3/dist-packages")  # fmt: skip
# What the interpreter reports about itself (run without student code, as the grader).
_DESCRIBE = """
import glob, json, os, sys, sysconfig
sys.path.append(sys.argv[1])
import numpy
for path in glob.glob(os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload", "*.so")):
    name = os.path.basename(path).split(".")[0]
    try:
        __import__(name)
    except Exception:
        pass
libraries = set()
with open("/proc/self/maps") as maps:
    for line in maps:
        path = line.split()[-1]
        if path.startswith("/") and ".so" in os.path.basename(path):
            libraries.add(path)
print(json.dumps({"executable": os.path.realpath(sys.executable),
                  "stdlib": [os.path.realpath(sysconfig.get_path(k))
                             for k in ("stdlib", "platstdlib")],
                  "libraries": sorted(libraries)}))
"""


class ConfinementError(RuntimeError):
    """bubblewrap is missing, or cannot build a sandbox here."""


def bwrap() -> str:
    path = shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")
    if path is None:
        raise ConfinementError(
            "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
        )
    return path


@cache
def runtime_mounts(python: str, site: str) -> tuple[str, ...]:
    """bwrap arguments that show ``python``'s runtime (and nothing beside it) read-only."""
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-B", "-c", _DESCRIBE, site],
            capture_output=True, text=True, timeout=120, cwd="/",
            env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"},
        )  # fmt: skip
        runtime = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        raise ConfinementError(f"{python} could not describe its runtime") from None
    site_root = os.path.realpath(site) + os.sep
    folders = set(runtime["stdlib"])
    folders |= {os.path.dirname(p) for p in runtime["libraries"] if not p.startswith(site_root)}
    folders = sorted(f for f in folders if not any(f.startswith(g + os.sep) for g in folders))
    args = ["--ro-bind", runtime["executable"], runtime["executable"]]
    # The dynamic loader's own paths (/lib64/ld-linux...), symlinks on a merged /usr.
    for top in ("/lib", "/lib64", "/lib32", "/libx32", "/bin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
    for extra in ("/usr/lib64", "/etc/ld.so.cache"):
        if os.path.exists(extra) and extra not in folders:
            args += ["--ro-bind", extra, extra]
    for folder in folders:
        args += ["--ro-bind", folder, folder]
    for folder in folders:
        for pattern in PACKAGE_FOLDERS:
            for hidden in sorted(glob.glob(os.path.join(folder, pattern))):
                if os.path.isdir(hidden):
                    args += ["--tmpfs", hidden]
    return tuple(args)


def command(
    python: str, site: Path, program: Path, copy: Path | None, out: Path, uid_gid
) -> list[str]:
    """The bwrap command line that runs a child: prepend it to the child's own argv (whose
    paths must be the ones inside: COPY, PROGRAM, SITE, WORK). ``uid_gid``: the ids the child
    has inside ((uid, gid), the ones it has outside)."""
    size = ["--size", str(TMPFS_BYTES)]
    args = [
        bwrap(),
        "--unshare-all",  # user, mount, pid, network, IPC, UTS, cgroup namespaces
        "--unshare-user",
        "--disable-userns",  # and no user namespace of its own inside
        "--die-with-parent",
        "--new-session",
        "--uid", str(uid_gid[0]), "--gid", str(uid_gid[1]),
        *runtime_mounts(python, str(site)),
        "--ro-bind", str(site), SITE,
        "--ro-bind", str(program), PROGRAM,
        *(["--ro-bind", str(copy), COPY] if copy is not None else []),
        "--proc", "/proc",
        "--dev", "/dev",
        *size, "--tmpfs", "/tmp",
        *size, "--tmpfs", "/dev/shm",
        *size, "--tmpfs", WORK,
        "--bind", str(out), f"{WORK}/out.npz",
        "--remount-ro", "/",
        "--chdir", WORK,
    ]  # fmt: skip
    return args
