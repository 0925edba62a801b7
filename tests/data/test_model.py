"""The converted model folder is checked against its recorded checksums; a hub model this machine
cannot fetch is refused before any work."""

import pytest
from saerepro.data.model import (
    CHECKSUMS_FILE,
    ModelUnavailableError,
    load_offline_hf,
    verify_checksums,
    write_checksums,
)


@pytest.fixture
def model_folder(tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (folder / "sub" / "tokenizer.json").write_text('{"a": 1}')
    write_checksums(folder)
    return folder


def test_an_intact_folder_passes(model_folder):
    verify_checksums(model_folder)


def test_overwritten_weights_are_refused_by_name(model_folder):
    weights = model_folder / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\0" * 4096)
    with pytest.raises(ModelUnavailableError, match=r"corrupted: model\.safetensors differ"):
        load_offline_hf(model_folder)


def test_a_missing_file_is_refused_and_a_file_added_later_is_not_checked(model_folder):
    (model_folder / "built_with.json").write_text("{}")
    verify_checksums(model_folder)
    (model_folder / "sub" / "tokenizer.json").unlink()
    with pytest.raises(ModelUnavailableError, match=r"corrupted: sub/tokenizer\.json differ"):
        verify_checksums(model_folder)


def test_a_folder_without_checksums_is_refused(model_folder):
    (model_folder / CHECKSUMS_FILE).unlink()
    with pytest.raises(ModelUnavailableError, match=r"has no checksums\.json.*dvc repro model"):
        load_offline_hf(model_folder)


def test_a_hub_model_without_hub_access_is_refused_before_any_work(monkeypatch, tmp_path):
    from saerepro.data import backbone

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    params = backbone.load("paper")
    data = backbone.BackboneData(tmp_path)
    with pytest.raises(
        ModelUnavailableError, match=r"google/gemma-2-2b.*HF_HUB_OFFLINE is set.*hf auth login"
    ):
        backbone.run_step("model", params, data)
    assert not data.model.exists()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    import huggingface_hub

    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(huggingface_hub, "model_info", unreachable)
    with pytest.raises(ModelUnavailableError, match=r"OSError: Network is unreachable.*cpu tier"):
        backbone.run_step("model", params, data)
