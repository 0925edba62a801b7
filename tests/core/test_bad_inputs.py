"""Every bad input found so far, refused at once with a message naming the parameter."""

import itertools

import pytest
import yaml
from saerepro.core.checks import ParamError
from saerepro.core.params import merged, read_params_file
from saerepro.data import backbone
from saerepro.sections import batchtopk, bimodality, llm_l0_sweep, meta_sae, stitching
from saerepro.sections.l0_dynamics import L0DynamicsParams
from saerepro.sections.toy_l0 import ToyL0Params
from saerepro.training.family import FamilyMember


def toy_l0(tier, path):
    from saerepro.core.params import load_params

    return load_params("toy_l0", ToyL0Params, tier, path)


def l0_dynamics(tier, path):
    from saerepro.core.params import load_params

    return load_params("l0_dynamics", L0DynamicsParams, tier, path)


LOADERS = {
    "toy_l0": toy_l0,
    "l0_dynamics": l0_dynamics,
    "backbone": backbone.load,
    "llm_l0_sweep": llm_l0_sweep.load,
    "batchtopk": batchtopk.load,
    "stitching": stitching.load,
    "meta_sae": meta_sae.load,
    "bimodality": bimodality.load,
    "recipe": batchtopk.load,  # the recipe is read through a section that trains with it
}

# (section, cpu-tier override, what the message must say)
CASES = [
    ("recipe", {"lr": float("inf")}, r"recipe\.lr=inf"),
    ("recipe", {"lr": float("nan")}, r"recipe\.lr=nan"),
    ("recipe", {"dead_feature_window": 0}, r"recipe\.dead_feature_window=0"),
    ("toy_l0", {"lr": float("inf")}, r"toy_l0\.cpu\.lr=inf .*finite"),
    ("toy_l0", {"headline_seeds": [-1]}, r"toy_l0\.cpu\.headline_seeds=\(-1,\) .*>= 0"),
    ("toy_l0", {"sweep_seed": -2}, r"toy_l0\.cpu\.sweep_seed=-2"),
    ("toy_l0", {"d_sae": "50"}, r"toy_l0\.cpu\.d_sae='50' .*integer"),
    ("l0_dynamics", {"transition_starts": []}, r"transition_starts=\(\) .*non-empty"),
    ("l0_dynamics", {"second_model_seeds": []}, r"second_model_seeds=\(\) .*non-empty"),
    ("l0_dynamics", {"finder": {"lr": float("-inf")}}, r"finder\.lr=-inf .*finite"),
    ("l0_dynamics", {"transition_seed": -1}, r"transition_seed=-1"),
    ("l0_dynamics", {"settling": {"dither": 0}}, r"settling: dither=0.0 .*\(0, 1\]"),
    ("l0_dynamics", {"settling": {"min_effect": float("nan")}}, r"min_effect=nan .*finite"),
    ("l0_dynamics", {"settling_start_factors": [1.5, 2.0]}, r"settling_start_factors.*below 1"),
    ("l0_dynamics", {"settling_start_factors": [0.7, 3.0]}, r"settling_start_factors.*at most"),
    ("l0_dynamics", {"settling_seeds": [-1]}, r"settling_seeds=\(-1,\)"),
    ("backbone", {"probing": {"tasks": []}}, r"probing\.tasks=\(\) .*non-empty"),
    ("backbone", {"seed": -3}, r"backbone\.cpu\.seed=-3"),
    ("backbone", {"layer": 18}, r"layer=18 .*0\.\.17 \(gemma-3-270m-offline has 18 blocks\)"),
    ("llm_l0_sweep", {"seed": -1}, r"llm_l0_sweep\.cpu\.seed=-1"),
    ("llm_l0_sweep", {"flat_tolerance": float("inf")}, r"flat_tolerance=inf"),
    ("batchtopk", {"second_seed": -1}, r"batchtopk\.cpu\.second_seed=-1"),
    ("batchtopk", {"penalty": {"rate": float("nan")}}, r"penalty\.rate=nan"),
    ("stitching", {"threshold_pair": -1}, r"threshold_pair=-1"),
    ("meta_sae", {"lr": float("inf")}, r"meta_sae\.cpu\.lr=inf"),
    ("bimodality", {"toy_samples": 0}, r"toy_samples=0"),
    ("bimodality", {"colour": "red"}, r"unknown parameter\(s\) \['colour'\]"),
]


@pytest.mark.parametrize(("section", "override", "message"), CASES, ids=lambda v: str(v)[:40])
def test_bad_params_are_refused_by_name(tmp_path, section, override, message):
    raw = read_params_file()
    raw[section]["cpu"] = merged(raw[section].get("cpu") or {}, override)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParamError, match=message):
        LOADERS[section]("cpu", str(path))


def test_more_eval_tokens_than_the_cache_holds_is_refused(activation_cache):
    with pytest.raises(ParamError, match=r"eval_tokens=1000000 .*1,200 tokens"):
        activation_cache.take(1_000_000, "eval_tokens")
    assert len(activation_cache.take(100, "eval_tokens")) == 100


def test_more_ce_windows_than_the_cache_holds_is_refused(activation_cache):
    with pytest.raises(ParamError, match=r"ce_windows=401 .*the 400 windows this cache holds"):
        activation_cache.windows(401, "ce_windows")
    assert activation_cache.windows(400, "ce_windows").shape == (400, 4)


def test_a_threshold_pair_beyond_the_family_is_refused():
    members = [FamilyMember(f"m{i}", 32 * 2**i, 4, 0, f"m{i}") for i in range(3)]
    pairs = list(itertools.pairwise(members))
    params = stitching.load("cpu")
    assert stitching.roc_pair(params, pairs) == pairs[params.threshold_pair]
    bad = stitching.StitchingParams(**{**params.__dict__, "threshold_pair": 5})
    with pytest.raises(ParamError, match=r"threshold_pair=5 .*0\.\.1"):
        stitching.roc_pair(bad, pairs)
