"""A process that dies with whoever started it, so that no stage leaves work running.

:func:`die_with_parent` asks the kernel to kill this process when its parent dies (Linux
``PR_SET_PDEATHSIG``) and, everywhere, watches the given ancestors and exits once any is gone.
DVC runs a stage's command through ``/bin/sh -c``, which stays between DVC and the command, so a
stage watches :func:`launchers`: its parent and, through any shells, the process that ran them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 0.2
SHELLS = frozenset({"sh", "dash", "bash", "zsh"})


def _parent_of(pid: int) -> int:
    """The parent of process ``pid`` (0 when it cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def launchers() -> list[int]:
    """This process's parent and, while that is a shell, the shell's own parent, and so on."""
    pids, pid = [], os.getppid()
    while pid > 1:
        pids.append(pid)
        if _command(pid) not in SHELLS:
            break
        pid = _parent_of(pid)
    return pids


def die_with_parent(parent: int | None = None, watched: Sequence[int] = ()) -> None:
    """Exit this process (at once, status 1) as soon as its parent (``parent``, the pid the caller
    knows it by; default: the parent now) or any process of ``watched`` is gone."""
    parent = os.getppid() if parent is None else parent
    others = [pid for pid in watched if pid != parent]
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent and all(alive(pid) for pid in others):
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)  # the parent or a launcher died (or the parent died before prctl took hold)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()
