import nbformat
import pytest
from saerepro.core.checks import ParamError
from saerepro.reporting.run_notebook import declared_parameters, run


@pytest.fixture
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('tier = "smoke"\nresults_dir = "build"')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell("print(f'tier={tier}')")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_parameters_cell_names_what_a_notebook_takes(notebook):
    assert declared_parameters(notebook) == ["tier", "results_dir"]


def test_an_unknown_parameter_fails_before_anything_runs(notebook, tmp_path):
    with pytest.raises(
        ParamError, match=r"no parameter\(s\) \['teir'\]; it takes \['results_dir', 'tier'\]"
    ):
        run(notebook, tmp_path / "out.ipynb", {"teir": "cpu"})
    assert not (tmp_path / "out.ipynb").exists()


def test_known_parameters_run_the_notebook(notebook, tmp_path):
    out = run(notebook, tmp_path / "out.ipynb", {"tier": "cpu"})
    executed = nbformat.read(out, as_version=4)
    printed = [o["text"] for c in executed.cells for o in c.get("outputs", []) if "text" in o]
    assert "tier=cpu\n" in printed


def test_cell_outputs_reach_the_terminal_while_it_runs(notebook, tmp_path, capfd):
    run(notebook, tmp_path / "out.ipynb", {"tier": "paper"})
    assert "tier=paper" in capfd.readouterr().out


def test_an_identical_rerun_rewrites_every_output_byte_for_byte(tmp_path):
    """What DVC tracks (the executed notebook, figures, metrics, claims, CSVs, checkpoints) is the
    same after a second run with the same params; only run.json (wall clock) may differ."""
    import hashlib

    folders = {"results_dir": str(tmp_path / "results"), "data_dir": str(tmp_path / "data")}

    def run_and_hash() -> dict[str, str]:
        run(
            "notebooks/02_l0_dynamics.ipynb",
            tmp_path / "results" / "02.ipynb",
            {"tier": "smoke", **folders},
        )
        files = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p.name != "run.json")
        return {
            str(p.relative_to(tmp_path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        }

    first = run_and_hash()
    assert len(first) > 10 and "results/metrics.json" in first and "results/02.ipynb" in first
    assert run_and_hash() == first
