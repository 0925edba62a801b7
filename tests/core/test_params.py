from dataclasses import dataclass, field

import pytest
import yaml
from saerepro.core.checks import ParamError
from saerepro.core.params import TIERS, build_dataclass, load_params, merged, read_params_file
from saerepro.sections.toy_l0 import ToyL0Params
from saerepro.toy.model import ToyModelConfig


@dataclass(frozen=True)
class Inner:
    rate: float = 0.5


@dataclass(frozen=True)
class Outer:
    count: int
    ks: tuple[int, ...] = (1,)
    inner: Inner = field(default_factory=Inner)


def test_builds_nested_dataclasses_and_coerces_numbers():
    got = build_dataclass(Outer, {"count": 3, "ks": [1, 2], "inner": {"rate": "3e-4"}}, "s.cpu")
    assert got == Outer(count=3, ks=(1, 2), inner=Inner(rate=3e-4))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"count": 1, "colour": "red"}, r"unknown parameter\(s\) \['colour'\]"),
        ({}, r"missing required parameter\(s\) \['count'\]"),
        ({"count": 1.5}, r"s\.cpu\.count=1\.5 .*integer"),
        ({"count": True}, r"s\.cpu\.count=True .*integer"),
        ({"count": 1, "ks": 3}, r"s\.cpu\.ks=3 .*list"),
        ({"count": 1, "ks": [1, "x"]}, r"s\.cpu\.ks\[1\]='x'"),
        ({"count": 1, "inner": {"rate": "fast"}}, r"s\.cpu\.inner\.rate='fast' .*number"),
    ],
)
def test_bad_values_name_the_parameter(values, message):
    with pytest.raises(ParamError, match=message):
        build_dataclass(Outer, values, "s.cpu")


def write_params(tmp_path, content):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


def real_params_with(tmp_path, section, tier, override=None, delete=()):
    """The real params file with ``override`` merged into ``section.tier`` and the keys in
    ``delete`` removed from ``section.shared``."""
    raw = read_params_file()
    raw[section][tier] = merged(raw[section].get(tier) or {}, override or {})
    for key in delete:
        raw[section]["shared"].pop(key, None)
        raw[section][tier].pop(key, None)
    return write_params(tmp_path, raw)


def test_unknown_tier_and_section_are_named(tmp_path):
    path = write_params(tmp_path, {"tier": "gpu", "toy_l0": {"cpu": {}}})
    with pytest.raises(ParamError, match=r"tier='gpu' is not allowed: one of smoke, cpu, paper"):
        load_params("toy_l0", ToyL0Params, path=path)
    with pytest.raises(ParamError, match=r"section='nope' is not allowed: one of toy_l0"):
        load_params("nope", ToyL0Params, tier="cpu", path=path)


def test_a_section_holds_only_shared_and_the_tiers(tmp_path):
    path = write_params(tmp_path, {"toy_l0": {"shared": {}, "gpu": {}}})
    with pytest.raises(ParamError, match=r"toy_l0=\['gpu', 'shared'\] .*shared, smoke, cpu, paper"):
        load_params("toy_l0", ToyL0Params, tier="cpu", path=path)


def test_missing_params_file_is_named(tmp_path):
    with pytest.raises(ParamError, match="does not exist"):
        read_params_file(tmp_path / "absent.yaml")


def test_a_tier_overrides_shared_values_key_by_key():
    assert merged({"a": 1, "m": {"x": 1, "y": 2}}, {"m": {"y": 3}}) == {
        "a": 1,
        "m": {"x": 1, "y": 3},
    }
    raw = read_params_file()
    cpu = load_params("toy_l0", ToyL0Params, tier="cpu")
    assert cpu.d_sae == raw["toy_l0"]["shared"]["d_sae"]
    assert cpu.sweep_samples == raw["toy_l0"]["cpu"]["sweep_samples"]


def test_deleting_a_field_is_refused_not_defaulted(tmp_path):
    path = real_params_with(tmp_path, "toy_l0", "cpu", delete=("headline_seeds",))
    with pytest.raises(
        ParamError, match=r"toy_l0\.cpu: missing required parameter\(s\) \['headline_seeds'\]"
    ):
        load_params("toy_l0", ToyL0Params, tier="cpu", path=path)


def test_validation_errors_carry_the_section_and_tier(tmp_path):
    path = real_params_with(tmp_path, "toy_l0", "cpu", {"d_sae": 50, "headline_ks": [5, 11, 60]})
    with pytest.raises(ParamError, match=r"toy_l0\.cpu: headline_ks=.*1\.\.50 \(d_sae\)"):
        load_params("toy_l0", ToyL0Params, tier="cpu", path=path)


def test_a_section_recipe_starts_from_the_shared_recipe(tmp_path):
    from saerepro.sections import batchtopk, llm_l0_sweep

    raw = read_params_file()
    recipe = merged(raw["recipe"]["shared"], raw["recipe"]["cpu"])
    sweep = llm_l0_sweep.load("cpu")
    assert sweep.recipe.train_tokens == raw["llm_l0_sweep"]["cpu"]["recipe"]["train_tokens"]
    assert sweep.recipe.lr == recipe["lr"] == batchtopk.load("cpu").recipe.lr
    path = real_params_with(tmp_path, "recipe", "cpu", {"lr": 1e-3})
    assert batchtopk.load("cpu", str(path)).recipe.lr == 1e-3


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"lr": float("inf")}, r"batchtopk\.cpu\.recipe\.lr=inf .*finite"),
        ({"lr": float("nan")}, r"recipe\.lr=nan"),
        ({"lr_decay_fraction": 1.0}, r"recipe\.lr_decay_fraction=1\.0 .*< 1"),
        ({"batch_size": 0}, r"recipe\.batch_size=0 .*>= 1"),
        ({"train_tokens": 10}, r"recipe\.train_tokens=10 .*recipe\.batch_size"),
    ],
)
def test_recipe_bounds_are_checked_on_the_fields(tmp_path, override, message):
    from saerepro.sections import batchtopk

    path = real_params_with(tmp_path, "recipe", "cpu", override)
    with pytest.raises(ParamError, match=message):
        batchtopk.load("cpu", str(path))


@pytest.mark.parametrize(
    ("override", "param"),
    [
        ({"sweep_ks": [3, 4, 20]}, "sweep_ks"),
        ({"headline_ks": [5, 18]}, "headline_ks"),
        ({"projection_ns": [12]}, "projection_ns"),
        ({"headline_samples": 10}, "headline_samples"),
        ({"recovery_threshold": 1.5}, "recovery_threshold"),
        ({"workers": 0}, "workers"),
        ({"model": {"firing_prob_min": 0}}, "firing_prob_min"),
    ],
)
def test_toy_l0_rejects_impossible_values(tmp_path, override, param):
    path = real_params_with(tmp_path, "toy_l0", "cpu", override)
    with pytest.raises(ParamError, match=param):
        load_params("toy_l0", ToyL0Params, tier="cpu", path=path)


@pytest.mark.parametrize("tier", TIERS)
def test_every_tier_of_the_real_params_file_is_valid(tier):
    params = load_params("toy_l0", ToyL0Params, tier=tier)
    assert params.model == ToyModelConfig()  # every tier replicates the paper's toy model
    assert len(params.sweep_jobs("ck")) == len(params.sweep_ks)


def test_paper_tier_uses_the_papers_settings():
    params = load_params("toy_l0", ToyL0Params, tier="paper")
    assert params.headline_samples == params.sweep_samples == 15_000_000
    assert (params.batch_size, params.lr, params.d_sae) == (1024, 3e-4, 50)
    assert params.headline_ks == (5, 11, 18)
    assert set(range(2, 26)) <= set(params.sweep_ks)


@pytest.mark.parametrize("tier", TIERS)
def test_every_tier_of_l0_dynamics_is_valid(tier):
    from saerepro.sections.l0_dynamics import L0DynamicsParams

    params = load_params("l0_dynamics", L0DynamicsParams, tier=tier)
    assert params.model == ToyModelConfig()
    assert len(params.transition_jobs("ck")) == len(params.transition_starts)
    finder_jobs = params.finder_jobs("ck")
    assert len(finder_jobs) == len(params.finder_seeds) + len(params.second_model_seeds)
    assert len({id(j.controller) for j in finder_jobs}) == len(finder_jobs), "one finder per run"


@pytest.mark.parametrize(
    ("override", "param"),
    [
        ({"finder": {"start_l0": 8}}, "finder.start_l0"),
        ({"finder": {"n_fraction": 0.1}}, "finder.n_fraction"),
        ({"transition_starts": [60]}, "transition_starts"),
        ({"finder_steps": 500}, "finder_steps"),
        ({"tolerance": 0}, "tolerance"),
    ],
)
def test_l0_dynamics_rejects_impossible_values(tmp_path, override, param):
    from saerepro.sections.l0_dynamics import L0DynamicsParams

    path = real_params_with(tmp_path, "l0_dynamics", "cpu", override)
    with pytest.raises(ParamError, match=param.replace(".", r"\.")):
        load_params("l0_dynamics", L0DynamicsParams, tier="cpu", path=path)
