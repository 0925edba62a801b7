"""Conventions that keep the pipeline honest: stripped notebooks, a generated dvc.yaml whose deps
are the code each stage runs, params tracked per tier."""

import json
from pathlib import Path

import pytest
import yaml
from saerepro import pipeline
from saerepro.core.folders import resolve_folders, stage_folders
from saerepro.core.params import SECTION_KEYS, TIERS, read_params_file
from saerepro.core.paths import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
PIPELINE = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def code_cells(notebook: Path) -> list[dict]:
    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_are_stripped(notebook):
    assert not any(c.get("outputs") or c.get("execution_count") for c in code_cells(notebook))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_smoke_default_parameters_cell(notebook):
    tagged = [c for c in code_cells(notebook) if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    assert 'tier = "smoke"' in "".join(tagged[0]["source"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebooks_default_folders_follow_its_tier(notebook):
    """Every folder parameter defaults to None and resolves from ``tier``: ``-p tier cpu`` alone
    writes where DVC's stage writes, and the smoke default under build/smoke/."""
    stage_name, stage = next(
        (n, s) for n, s in PIPELINE.items() if f"notebooks/{notebook.name}" in s["cmd"]
    )
    namespace: dict = {}
    tagged = next(c for c in code_cells(notebook) if "parameters" in c["metadata"]["tags"])
    exec("".join(tagged["source"]), namespace)
    folders = stage_folders(stage_name)
    assert {name: namespace[name] for name in folders} == dict.fromkeys(folders)
    given = dict.fromkeys(folders)
    cpu = dict(zip(folders, resolve_folders(stage_name, "cpu", **given), strict=True))
    assert all(f"-p {name} {path}" in stage["cmd"] for name, path in cpu.items())
    smoke = resolve_folders(stage_name, "smoke", **given)
    assert all(path.startswith("build/smoke/") for path in smoke)
    assert resolve_folders(stage_name, "smoke", **{**given, "results_dir": "elsewhere"})[0] == (
        "elsewhere"
    )
    source = "\n".join("".join(c["source"]) for c in code_cells(notebook))
    assert (
        f'resolve_folders(\n    "{stage_name}",' in source
        or f'resolve_folders("{stage_name}"' in source
    )


def test_dvc_yaml_is_what_the_stage_registry_writes():
    assert pipeline.main(["--check"]) == 0, "run `python -m saerepro.pipeline`"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_has_a_stage_that_depends_on_all_the_code_it_runs(notebook):
    stage = next(s for s in PIPELINE.values() if f"notebooks/{notebook.name}" in s["cmd"])
    source = "\n".join("".join(c["source"]) for c in code_cells(notebook))
    closure = pipeline.library_files_behind(source)
    assert closure and closure <= set(stage["deps"])


def test_the_import_closure_follows_imports_through_library_modules():
    files = pipeline.library_files_behind("from saerepro.sections import batchtopk")
    assert "lib/saerepro/sections/batchtopk.py" in files
    assert "lib/saerepro/training/trainer.py" in files  # batchtopk -> recipe -> trainer
    assert "lib/saerepro/core/checks.py" in files
    assert not any(f.endswith("__init__.py") for f in files)


def test_every_section_has_shared_values_and_every_tier():
    params = read_params_file()
    assert params["tier"] in TIERS
    for name, values in params.items():
        if name == "tier":
            continue
        assert set(values) == set(SECTION_KEYS), f"{name} needs exactly {SECTION_KEYS}"


def test_stage_params_exist_at_every_tier():
    params = read_params_file()
    for name, stage in PIPELINE.items():
        for key in stage.get("params", []):
            for tier in TIERS:
                value = params
                for part in key.replace("${tier}", tier).split("."):
                    assert part in value, f"{name} tracks {key}, missing at tier {tier}"
                    value = value[part]


def test_an_edit_to_one_tier_is_not_tracked_by_another():
    """A stage tracks `section.shared` and `section.${tier}`, never the whole section."""
    for stage in PIPELINE.values():
        for key in stage.get("params", []):
            assert key == "tier" or key.endswith((".shared", ".${tier}")), key


def test_the_readme_layout_names_every_library_module():
    readme = (REPO_ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    modules = sorted((REPO_ROOT / "lib" / "saerepro").rglob("*.py"))
    missing = [
        str(m.relative_to(REPO_ROOT))
        for m in modules
        if m.name != "__init__.py" and m.stem not in layout
    ]
    assert not missing, f"add to the README's layout: {missing}"
