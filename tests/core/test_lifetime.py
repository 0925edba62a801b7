"""A killed stage leaves nothing running: run_notebook, its kernel and the kernel's workers die
with the process that started the stage, through the shell DVC puts in between."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from saerepro.core.lifetime import alive, launchers
from saerepro.core.paths import REPO_ROOT
from test_parallel import wait_for  # beside this file

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")

SLOW_JOBS = """
import os, time
from pathlib import Path

def slow_job(args):
    folder, i = args
    Path(folder, f"started_{i}_{os.getpid()}").touch()
    time.sleep(3)
    Path(folder, f"done_{i}").touch()
    return i
"""


def test_launchers_look_through_shells():
    script = f"import sys; sys.path.insert(0, {str(REPO_ROOT / 'lib')!r}); "
    script += "from saerepro.core.lifetime import launchers; print(launchers())"
    done = subprocess.run(
        f"{sys.executable} -c {json.dumps(script)}; true",  # `; true` keeps the shell alive
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    shell, above = json.loads(done.stdout)
    assert above == os.getpid()  # through /bin/sh to this process
    assert shell != os.getpid()
    assert launchers()[0] == os.getppid()


def test_killing_the_stage_kills_the_notebook_its_kernel_and_its_workers(tmp_path):
    (tmp_path / "slow_jobs.py").write_text(SLOW_JOBS)
    out = tmp_path / "out"
    out.mkdir()
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('out = ""')
    parameters.metadata["tags"] = ["parameters"]
    work = nbformat.v4.new_code_cell(
        textwrap.dedent(f"""
            import os, sys
            from pathlib import Path
            sys.path.insert(0, {str(tmp_path)!r})
            Path(out, "kernel").write_text(f"{{os.getpid()}} {{os.getppid()}}")
            from saerepro.core.parallel import map_jobs
            from slow_jobs import slow_job
            map_jobs(slow_job, [(out, i) for i in range(6)], workers=2, desc="jobs")
        """)
    )
    notebook.cells = [parameters, work]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    source = tmp_path / "stage.ipynb"
    source.write_text(nbformat.writes(notebook))
    command = (
        f"{sys.executable} -m saerepro.reporting.run_notebook {source} "
        f"{tmp_path / 'executed.ipynb'} -p out {out}"
    )
    stage = subprocess.Popen(  # stands in for dvc: it runs the command through /bin/sh
        [sys.executable, "-c", f"import subprocess; subprocess.run({command!r}, shell=True)"]
    )
    try:
        ready = lambda: (out / "kernel").is_file() and len(list(out.glob("started_*"))) >= 2  # noqa: E731
        assert wait_for(lambda: ready() or stage.poll() is not None) and ready(), (
            "the notebook's workers never started"
        )
        kernel, runner = map(int, (out / "kernel").read_text().split())
        workers = {int(p.name.split("_")[2]) for p in out.glob("started_*")}
        os.kill(stage.pid, signal.SIGKILL)
        stage.wait()
        everyone = {runner, kernel, *workers}
        assert wait_for(lambda: not any(alive(pid) for pid in everyone), seconds=20), [
            pid for pid in everyone if alive(pid)
        ]
        time.sleep(4)  # longer than a job: a surviving worker would finish and write
        assert not list(out.glob("done_*"))
    finally:
        if stage.poll() is None:
            stage.kill()
