"""Runs one child process for the grader, and makes sure that nothing it started outlives it.

The grader starts this as ``python -I -S -c SOURCE`` (so no path of the grader's install is
in its command line, which every process can read), with a job as JSON on stdin. It

1. becomes a *subreaper* (Linux): every process the child starts, however it detaches
   (double fork, setsid), stays a descendant of this one;
2. starts the child in a new session, with the job's stdin, a log file for stdout and
   stderr, limits (address space, CPU time, file size, core files; processes when the job
   names a count), no new privileges, death with this process (which itself dies with the
   grader), and, when the job names one, that user's uid and gid with no supplementary
   groups. The child is ``bwrap`` when the grading is confined (``confine.py``).
   When the job names a cgroup (``cgroups.py``: the grader made it, with its limits), this
   process joins it for the spawn and leaves it at once: the child is forked inside, so it
   and all it starts are counted from the first instruction, with no moment outside for a
   fork to escape (moving a process later moves it alone, not what it already started);
3. waits up to the timeout, then kills the child's process group and every descendant
   left, until none is left;
4. prints one JSON line: the child's exit code, whether it timed out, how many other
   processes were killed, or why the child could not start.

Standard library only: the job says everything.
"""

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
FILE_SIZE = 64 * 2**20  # the largest file the child may write

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux: no subreaper, no prctl
    _libc = None


def _prctl(option: int, value: int) -> bool:
    prctl = getattr(_libc, "prctl", None)
    return prctl is not None and prctl(option, value, 0, 0, 0) == 0


def _lower(limit: int, value: int) -> None:
    """Set ``limit`` to ``value``, or leave it where the grader's own limit is lower (a
    limit may only go down: ``ulimit -f`` in the instructor's shell stays in force)."""
    soft, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, value))


def _limits(memory_mb: int, processes: int | None, cpu_seconds: int):
    def apply():  # runs in the child, after it took the user's uid, before exec
        _lower(resource.RLIMIT_AS, memory_mb * 2**20)
        _lower(resource.RLIMIT_CPU, cpu_seconds)
        _lower(resource.RLIMIT_FSIZE, FILE_SIZE)
        _lower(resource.RLIMIT_CORE, 0)
        if processes:
            _lower(resource.RLIMIT_NPROC, processes)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


def _join(procs: str) -> None:
    """Move this process into the cgroup whose ``cgroup.procs`` file is ``procs``."""
    with open(procs, "w") as f:
        f.write(str(os.getpid()))


def _descendants() -> list[int]:
    """Every process below this one, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    if not os.path.isdir("/proc"):  # not Linux: the process group is all there is to kill
        return []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def _kill_everything(pgid: int, patience: float = 10.0) -> int:
    """Kill the process group and every descendant until none is left; -> how many were
    still running, the group's leader (the child) aside."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    killed: set[int] = set()
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        for pid in _descendants():
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        try:  # reap: orphans were reparented to this subreaper
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:  # no child left, so no descendant either
            break
        time.sleep(0.005)
    return len(killed - {pgid})


def main() -> None:
    job = json.loads(sys.stdin.read())
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the grader gone, this goes, and the child
    if os.getppid() != job["grader"]:  # the grader died before the line above
        return
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    user = job.get("user")  # [uid, gid] or None
    report = {"returncode": None, "timed_out": False, "strays": 0, "error": None}
    cgroup = job.get("cgroup")  # {"run": its cgroup.procs, "home": this one's} or None
    with open(job["stdin"], "rb") as stdin, open(job["log"], "wb") as log:
        try:
            if cgroup:
                _join(cgroup["run"])
            child = subprocess.Popen(
                job["argv"],
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=job["cwd"],
                env=job["env"],
                start_new_session=True,
                user=user[0] if user else None,
                group=user[1] if user else None,
                extra_groups=[] if user else None,
                preexec_fn=_limits(job["memory_mb"], job["processes"], job["cpu_seconds"]),
            )
        except OSError as e:
            report["error"] = f"{type(e).__name__}: {e}"
            child = None
        finally:
            if cgroup:  # out again before the child runs student code: not counted, not killed
                _join(cgroup["home"])
        if child is not None:
            try:
                report["returncode"] = child.wait(timeout=job["timeout"])
            except subprocess.TimeoutExpired:
                report["timed_out"] = True
            report["strays"] = _kill_everything(child.pid)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
