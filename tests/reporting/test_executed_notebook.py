import nbformat
from saerepro.reporting.executed_notebook import tidy, tidy_outputs


def stream(text, name="stderr"):
    return {"output_type": "stream", "name": name, "text": text}


def test_a_progress_bar_keeps_only_its_final_state():
    outputs = [
        stream("\rtraining:   0%|          | 0/2 [00:00<?, ?it/s]"),
        stream("\revaluating:   0%|          | 0/3 [00:00<?, ?it/s]"),
        stream("\rtraining:  50%|█████     | 1/2 [00:01<00:01, 1.0s/it]"),
        stream("\rtraining: 100%|██████████| 2/2 [00:02<00:00, 1.0s/it]"),
        stream("\n"),
        stream("2 SAEs trained\n", "stdout"),
    ]
    got = tidy_outputs(outputs, "/root/repo")
    assert [(o["name"], o["text"]) for o in got] == [
        ("stderr", "training: 100%|██████████| 2/2\nevaluating:   0%|          | 0/3\n"),
        ("stdout", "2 SAEs trained\n"),
    ]


def test_the_ipywidgets_warning_goes_and_paths_become_relative():
    warning = (
        "/root/repo/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: "
        "IProgress not found. Please update jupyter and ipywidgets.\n"
        "  from .autonotebook import tqdm as notebook_tqdm\n"
    )
    other = "/root/repo/lib/saerepro/evals/probing.py:19: UserWarning: not writable\n"
    got = tidy_outputs([stream(warning), stream(other)], "/root/repo")
    assert [o["text"] for o in got] == [
        "lib/saerepro/evals/probing.py:19: UserWarning: not writable\n"
    ]


def test_tidy_rewrites_a_notebook_and_keeps_its_results(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="\rrun: 100%|██████████| 1/1\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
    ]
    nb.cells.append(cell)
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(nb))
    tidy(path, tmp_path)
    again = nbformat.read(path, as_version=4)
    assert [o["output_type"] for o in again.cells[0].outputs] == ["stream", "execute_result"]
    assert again.cells[0].outputs[1]["data"]["text/plain"] == "42"


def test_tidy_makes_papermills_recorded_paths_relative(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {
        "input_path": f"{tmp_path}/notebooks/01_toy_l0.ipynb",
        "output_path": f"{tmp_path}/results/toy_l0/01_toy_l0.ipynb",
        "parameters": {"tier": "cpu"},
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(nb))
    tidy(path, tmp_path)
    papermill = nbformat.read(path, as_version=4).metadata["papermill"]
    assert papermill["input_path"] == "notebooks/01_toy_l0.ipynb"
    assert papermill["output_path"] == "results/toy_l0/01_toy_l0.ipynb"
    assert papermill["parameters"] == {"tier": "cpu"}


def test_two_runs_that_differ_only_in_their_clocks_tidy_to_the_same_file(tmp_path):
    def executed(start, seconds, rate):
        nb = nbformat.v4.new_notebook()
        nb.metadata["papermill"] = {
            "start_time": start,
            "end_time": start,
            "duration": seconds,
            "parameters": {"tier": "cpu"},
        }
        cell = nbformat.v4.new_code_cell("train()", id="train")
        cell.metadata["papermill"] = {"start_time": start, "duration": seconds}
        cell.metadata["execution"] = {"iopub.execute_input": start}
        cell.outputs = [
            nbformat.v4.new_output(
                "stream",
                name="stderr",
                text=f"\rSAEs: 100%|██████████| 4/4 [00:{seconds}<00:00, {rate}SAE/s]",
            ),
            nbformat.v4.new_output("stream", name="stdout", text="4 SAEs trained\n"),
        ]
        nb.cells.append(cell)
        injected = nbformat.v4.new_code_cell("tier = 'cpu'", id=f"random{seconds}")
        injected.metadata["tags"] = ["injected-parameters"]
        nb.cells.append(injected)
        path = tmp_path / f"{seconds}.ipynb"
        path.write_text(nbformat.writes(nb))
        tidy(path, tmp_path)
        return path.read_text()

    first = executed("2026-12-01T10:00:00Z", 12, "0.33")
    second = executed("2026-12-02T11:30:00Z", 19, "0.21")
    assert first == second
    tidied = nbformat.reads(first, as_version=4)
    assert tidied.cells[0].outputs[0]["text"] == "SAEs: 100%|██████████| 4/4\n"
    assert tidied.metadata["papermill"] == {"parameters": {"tier": "cpu"}}
    assert "execution" not in tidied.cells[0].metadata


def test_text_cut_into_messages_by_timing_is_joined():
    cut = [stream("a = 1\n", "stdout"), stream("b = 2\n", "stdout"), stream("warn\n")]
    whole = [stream("a = 1\nb = 2\n", "stdout"), stream("warn\n")]
    assert tidy_outputs(cut, "/root/repo") == tidy_outputs(whole, "/root/repo") == whole
