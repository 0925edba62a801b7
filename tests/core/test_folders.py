import pytest
from saerepro.core.checks import ParamError
from saerepro.core.folders import resolve_folders, stage_folders


def test_folders_resolve_from_the_tier_unless_given():
    assert stage_folders("toy_l0") == {"results_dir": "results/toy_l0", "data_dir": "data/toy_l0"}
    assert resolve_folders("toy_l0", "cpu", results_dir=None, data_dir=None) == (
        "results/toy_l0",
        "data/toy_l0",
    )
    assert resolve_folders("toy_l0", "smoke", results_dir=None, data_dir="mine") == (
        "build/smoke/results/toy_l0",
        "mine",
    )


@pytest.mark.parametrize(
    ("section", "tier", "given", "message"),
    [
        ("toy_l0", "laptop", {"results_dir": None, "data_dir": None}, r"tier='laptop'"),
        ("toy", "cpu", {"results_dir": None}, r"section='toy'"),
        ("toy_l0", "cpu", {"results_dir": None}, r"the section has \['data_dir', 'results_dir'\]"),
    ],
)
def test_bad_folder_requests_are_refused_by_name(section, tier, given, message):
    with pytest.raises(ParamError, match=message):
        resolve_folders(section, tier, **given)
