import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.training.l0_control import AutoL0Finder, L0FinderConfig, LinearL0Schedule, set_k
from saerepro.training.trainer import TrainSettings, make_training_sae, train_sae


def test_schedule_k_per_step():
    schedule = LinearL0Schedule(start=20, end=11, transition_steps=25_000)
    assert schedule.k_at(0) == 20
    assert schedule.k_at(12_500) == pytest.approx(15.5)
    assert schedule.k_at(25_000) == 11
    assert schedule.k_at(29_999) == 11
    up = LinearL0Schedule(start=2, end=11, transition_steps=9)
    assert [up.k_at(s) for s in range(11)] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11]


def test_schedule_sets_k_on_every_training_step(small_toy):
    sae = make_training_sae("batchtopk", seed=0, d_in=12, d_sae=8, k=6)
    schedule = LinearL0Schedule(start=6, end=2, transition_steps=4)
    seen = []
    hooks = [schedule, lambda step, s, batch: seen.append((s.cfg.k, s.activation_fn.k))]
    result = train_sae(
        sae,
        small_toy.batches(64, seed=0),
        TrainSettings(total_samples=64 * 6, batch_size=64, record_every=1),
        hooks=hooks,
        progress=False,
    )
    assert seen == [(6, 6), (5, 5), (4, 4), (3, 3), (2, 2), (2, 2)]
    # BatchTopK keeps exactly k * batch activations when that many are positive
    assert result.l0s[-1] <= 2


def test_set_k_refuses_other_architectures_and_bad_k():
    with pytest.raises(TypeError, match="TopK or BatchTopK"):
        set_k(make_training_sae("standard", seed=0, d_in=4, d_sae=4), 3)
    topk = make_training_sae("fast_topk", seed=0, d_in=4, d_sae=8, k=2)
    set_k(topk, 3.4)  # a TopK SAE keeps an integer k
    assert topk.cfg.k == 3 and topk.activation_fn.k == 3
    stock = make_training_sae("topk", seed=0, d_in=4, d_sae=8, k=2)
    set_k(stock, 0.3)
    assert stock.encode(torch.randn(5, 4)).ne(0).sum(-1).le(1).all()  # at least 1, stock path too
    with pytest.raises(ParamError, match=r"k=9 .*\(0, 8\]"):
        set_k(make_training_sae("batchtopk", seed=0, d_in=4, d_sae=8, k=2), 9)


def run_on_metric(finder, metric, evaluations, d_sae=50):
    trajectory = []
    for _ in range(evaluations):
        finder.update(metric(finder.l0), d_sae)
        trajectory.append(finder.l0)
    return trajectory


def steep_below_gentle_above(true_l0):
    """A unique minimum at ``true_l0``: steep below it, gently rising above (SBW Fig. 2's shape)."""

    def metric(l0):
        return 1.0 + (0.5 * (true_l0 - l0) if l0 < true_l0 else 0.05 * (l0 - true_l0))

    return metric


@pytest.mark.parametrize("true_l0", [11.0, 6.0])
def test_finder_settles_at_the_minimum_of_a_known_metric(true_l0):
    finder = AutoL0Finder(L0FinderConfig(start_l0=25, lr=0.5))
    trajectory = run_on_metric(finder, steep_below_gentle_above(true_l0), 300)
    settled = sum(trajectory[-60:]) / 60
    assert abs(settled - true_l0) < 1.0
    assert min(trajectory) > true_l0 - 1.0, "never dives far below the true L0"


def test_finder_first_move_and_step_bounds():
    finder = AutoL0Finder(L0FinderConfig(start_l0=25, lr=10.0, min_delta=0.25, max_delta=1.5))
    trajectory = run_on_metric(finder, lambda l0: l0, 5)
    assert trajectory[0] == 24.75, "the first move is -min_delta"
    steps = [b - a for a, b in zip([25.0, *trajectory], trajectory, strict=False)]
    assert all(0.25 <= abs(s) <= 1.5 for s in steps)


def test_flat_metric_drifts_down_by_the_minimum_step():
    finder = AutoL0Finder(L0FinderConfig(start_l0=20, min_delta=0.5))
    assert run_on_metric(finder, lambda l0: 3.0, 4) == [19.5, 19.0, 18.5, 18.0]


def test_finder_respects_l0_bounds():
    finder = AutoL0Finder(L0FinderConfig(start_l0=3, lr=5, max_delta=5, min_l0=2))
    trajectory = run_on_metric(finder, lambda l0: l0, 10, d_sae=8)
    assert min(trajectory) == 2


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"start_l0": 0}, "start_l0"),
        ({"n_fraction": 0}, "n_fraction"),
        ({"window": 200}, "window"),
        ({"bias": 1.0}, "bias"),
        ({"min_delta": 3.0}, "min_delta"),
        ({"lr": -1}, "lr"),
    ],
)
def test_finder_rejects_bad_arguments(kwargs, param):
    with pytest.raises(ParamError, match=param):
        L0FinderConfig(**kwargs)


def test_bias_pushes_toward_lower_l0():
    # two finders see the same gradient estimates; only the biased one moves L0 lower
    moves = {}
    for bias in (0.0, 0.5):
        finder = AutoL0Finder(L0FinderConfig(start_l0=20, lr=0.5, bias=bias, min_delta=1e-3))
        run_on_metric(finder, lambda l0: 0.1 * l0, 3)
        moves[bias] = finder.l0
    assert moves[0.5] < moves[0.0]


def test_n_scales_with_the_sae_width():
    config = L0FinderConfig(n_fraction=0.44)
    assert (config.n_for(50), config.n_for(30), config.n_for(1)) == (22, 13, 1)
