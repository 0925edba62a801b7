"""SAEs of different widths or seeds start independently (CU's comparisons need it)."""

import itertools

import torch
from saerepro.metrics import unit_rows
from saerepro.sections import batchtopk, bimodality, llm_l0_sweep, meta_sae
from saerepro.training.seeds import data_seed, derived_seed, init_seed
from saerepro.training.trainer import make_training_sae

D_MODEL = 640  # the offline model's residual stream
ROWS = 64  # the first decoder rows: where a shared torch seed nests a narrow SAE in a wide one


def test_derived_seeds_are_stable_and_distinct():
    assert init_seed(512, 0) == init_seed(512, 0) == derived_seed("init", 512, 0)
    seeds = {init_seed(d, s) for d in (512, 1024, 2048, 4096) for s in (0, 1)}
    seeds |= {data_seed(d, s) for d in (512, 1024, 2048, 4096) for s in (0, 1)}
    assert len(seeds) == 16


def cpu_jobs():
    """Every LLM SAE the cpu tier trains, plus the meta-SAE (its width and init seed)."""
    family = batchtopk.load("cpu")
    jobs = [job for _, job in family.jobs("T", "F", "O")]
    jobs += llm_l0_sweep.load("cpu").jobs("T", "C")
    jobs += meta_sae.load("cpu").extra_jobs(family, "T", "R")
    jobs += [
        j
        for j in bimodality.load("cpu").all_jobs(bimodality.load_toy("cpu"), "T", "R")
        if hasattr(j, "sae_cfg")
    ]
    starts = {(j.architecture, int(j.sae_cfg["d_sae"]), j.seed, j.initial_seed): j for j in jobs}
    meta = meta_sae.load("cpu").settings(family.widths[-1])
    starts[("fast_batchtopk", meta.d_meta, meta.seed, init_seed(meta.d_meta, meta.seed))] = None
    return starts


def first_rows(architecture, d_sae, seed, cfg):
    sae = make_training_sae(architecture, seed, d_in=D_MODEL, d_sae=d_sae, **cfg)
    return unit_rows(sae.W_dec.detach()[:ROWS])


def test_no_two_cpu_tier_saes_of_different_widths_or_seeds_start_alike():
    rows = {}
    for (architecture, d_sae, seed_index, seed), job in cpu_jobs().items():
        cfg = {"k": 4} if "topk" in architecture else {}
        rows[(architecture, d_sae, seed_index)] = (
            d_sae,
            seed_index,
            first_rows("fast_batchtopk" if job is None else architecture, d_sae, seed, cfg),
        )
    assert len(rows) >= 20
    checked = 0
    for (a, (da, sa, ra)), (b, (db, sb, rb)) in itertools.combinations(rows.items(), 2):
        if (da, sa) == (db, sb):
            continue  # paired on purpose: the architectures (and ks) at one width and seed
        same_index = (ra * rb).sum(1).abs().mean().item()
        assert same_index < 0.15, (
            f"{a} and {b} start with correlated decoder rows ({same_index:.2f})"
        )
        checked += 1
    assert checked >= 150


def test_a_shared_torch_seed_would_nest_the_narrow_sae_in_the_wide_one():
    """The defect the derived seeds remove, shown on SAELens itself."""
    narrow = first_rows("fast_batchtopk", 512, 0, {"k": 4})
    wide = first_rows("fast_batchtopk", 1024, 0, {"k": 4})
    assert torch.allclose(narrow, wide)
    independent = first_rows("fast_batchtopk", 1024, init_seed(1024, 0), {"k": 4})
    assert (narrow * independent).sum(1).abs().mean() < 0.15
