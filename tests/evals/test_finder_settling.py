import pandas as pd
import pytest
from saerepro.core.checks import ParamError
from saerepro.evals.finder_settling import settling


def history(l0s, cycle=100):
    return pd.DataFrame({"step": [cycle * (i + 1) - 1 for i in range(len(l0s))], "l0": l0s})


def test_only_the_cycles_ending_in_the_late_window_count():
    # cycles end at steps 99 .. 999; the last 20 % of 1000 steps holds those ending at 899, 999
    run = history([25, 20, 15, 12, 11, 11.5, 10.5, 11.2, 10.8, 11.4])
    outcome = settling(run, target=11.0, total_steps=1000, fraction=0.2)
    assert outcome.cycles == 2
    assert outcome.settled_l0 == pytest.approx(11.1)
    assert outcome.worst_distance == pytest.approx(0.4)
    assert outcome.within(0.5) and not outcome.within(0.3)


def test_a_late_excursion_counts_against_settling():
    outcome = settling(history([11, 11, 11, 14, 11]), target=11, total_steps=500, fraction=0.4)
    assert outcome.worst_distance == 3 and not outcome.within(1)


def test_a_run_without_late_cycles_is_refused():
    with pytest.raises(ParamError, match="history"):
        settling(history([20, 15]), target=11, total_steps=1000, fraction=0.2)
    with pytest.raises(ParamError, match="fraction"):
        settling(history([20, 15]), target=11, total_steps=200, fraction=0)
