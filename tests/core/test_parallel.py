"""Worker processes die with their parent and stop on error: nothing is written after either."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from saerepro.core.lifetime import alive
from saerepro.core.parallel import map_jobs

JOBS_MODULE = """
import os, time
from pathlib import Path

def slow_job(args):
    folder, i, fail = args
    Path(folder, f"started_{i}_{os.getpid()}").touch()
    if fail and i == 0:
        raise RuntimeError("job 0 fails")
    time.sleep(3)
    Path(folder, f"done_{i}").touch()
    return i
"""


def wait_for(predicate, seconds=90.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def jobs_module(tmp_path, monkeypatch):
    (tmp_path / "slow_jobs.py").write_text(JOBS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    return tmp_path, out


def started(out: Path) -> list[Path]:
    return sorted(out.glob("started_*"))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker states from /proc")
def test_killing_the_parent_kills_its_workers_and_nothing_more_is_written(jobs_module):
    module_dir, out = jobs_module
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(module_dir)!r})
        from saerepro.core.parallel import map_jobs
        from slow_jobs import slow_job
        map_jobs(slow_job, [({str(out)!r}, i, False) for i in range(6)], workers=2, desc="jobs")
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        assert wait_for(lambda: len(started(out)) >= 2), "the workers never started"
        workers = {int(p.name.split("_")[2]) for p in started(out)}
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert wait_for(lambda: not any(alive(pid) for pid in workers), seconds=10)
        time.sleep(4)  # longer than a job: a surviving worker would finish and write
        assert not list(out.glob("done_*"))
        assert len(started(out)) == 2, "a pending job started after the kill"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_an_error_cancels_pending_jobs_and_stops_running_ones(jobs_module):
    from slow_jobs import slow_job

    _, out = jobs_module
    with pytest.raises(RuntimeError, match="job 0 fails"):
        map_jobs(slow_job, [(str(out), i, True) for i in range(6)], workers=2, desc="jobs")
    workers = {int(p.name.split("_")[2]) for p in started(out)}
    assert wait_for(lambda: not any(alive(pid) for pid in workers), seconds=10)
    time.sleep(4)
    assert not list(out.glob("done_*")), "a worker went on after the error"
    assert len(started(out)) <= 3  # job 0, the other running job, at most one more in flight
