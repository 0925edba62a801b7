"""Saved SAEs work on raw activations outside this project, and as before inside it."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.saes.checkpoints import SCALE_KEY, load_sae, save_inference_sae
from saerepro.training.cached_jobs import train_cached_sae
from saerepro.training.trainer import make_training_sae

ARCHITECTURES = [
    ("fast_batchtopk", {"k": 4}),
    ("fast_topk", {"k": 4}),
    ("standard", {}),
    ("jumprelu", {}),
    ("aligned_standard", {}),
    ("aligned_topk", {"k": 4}),
]


def _perturbed(architecture, cfg):
    sae = make_training_sae(architecture, 0, d_in=16, d_sae=32, **cfg)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name in ("b_dec", "b_enc"):
            if hasattr(sae, name):
                getattr(sae, name).add_(
                    0.3 * torch.randn(getattr(sae, name).shape, generator=generator)
                )
    return sae


@pytest.mark.parametrize("architecture,cfg", ARCHITECTURES)
def test_a_folded_scale_gives_raw_inputs_the_same_codes(tmp_path, architecture, cfg):
    import saerepro.saes.aligned
    import saerepro.saes.fast  # noqa: F401

    sae, scale = _perturbed(architecture, cfg), 2.5
    x = torch.randn(64, 16, generator=torch.Generator().manual_seed(2))  # normalised inputs
    save_inference_sae(sae, tmp_path / "plain")
    save_inference_sae(sae, tmp_path / "folded", activation_scale=scale, metadata={"m": "x"})
    plain = load_sae(tmp_path / "plain")
    codes, recon = plain.encode(x), plain.decode(plain.encode(x))
    assert (codes > 0).any()
    inside = load_sae(tmp_path / "folded")
    torch.testing.assert_close(inside.encode(x), codes, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(inside.decode(inside.encode(x)), recon, atol=1e-5, rtol=1e-4)
    raw = load_sae(tmp_path / "folded", inputs="raw")
    raw_codes = raw.encode(x / scale)
    torch.testing.assert_close(raw_codes, codes, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(raw.decode(raw_codes), recon / scale, atol=1e-5, rtol=1e-4)
    assert raw.cfg.metadata[SCALE_KEY] == scale and raw.cfg.metadata["m"] == "x"


def test_bad_scale_or_inputs_are_refused(tmp_path):
    sae = _perturbed("standard", {})
    with pytest.raises(ParamError, match="activation_scale"):
        save_inference_sae(sae, tmp_path / "a", activation_scale=0.0)
    assert not (tmp_path / "a").exists(), "nothing half-written"
    save_inference_sae(sae, tmp_path / "b")
    with pytest.raises(ParamError, match="inputs"):
        load_sae(tmp_path / "b", inputs="scaled")


CLEAN_PROCESS = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from sae_lens import SAE
    sae = SAE.load_from_disk(sys.argv[1])
    x = torch.from_numpy(np.load(sys.argv[2]))
    with torch.no_grad():
        recon = sae.decode(sae.encode(x))
    np.save(sys.argv[3], recon.numpy())
    json.dump(
        {"imported": sorted(m for m in sys.modules if m.startswith("saerepro")),
         "metadata": sae.cfg.metadata.to_dict()},
        open(sys.argv[4], "w"),
    )
    """
)


def test_a_trained_sae_works_on_raw_activations_in_a_process_without_saerepro(
    tmp_path, activation_cache, cached_job
):
    job = cached_job(activation_cache, tmp_path / "sae", k=3)
    train_cached_sae(job)
    raw = activation_cache.read(0, 300, normalised=False)
    ours = load_sae(job.checkpoint)
    with torch.no_grad():
        expected = ours.decode(ours.encode(activation_cache.read(0, 300))) / activation_cache.scale
    np.save(tmp_path / "raw.npy", raw.numpy())
    script = tmp_path / "clean.py"
    script.write_text(CLEAN_PROCESS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [
            sys.executable,
            str(script),
            job.checkpoint,
            str(tmp_path / "raw.npy"),
            str(tmp_path / "recon.npy"),
            str(tmp_path / "out.json"),
        ],
        check=True,
        cwd=tmp_path,
        env=env,
    )
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["imported"] == []
    recon = torch.from_numpy(np.load(tmp_path / "recon.npy"))
    torch.testing.assert_close(recon, expected, atol=1e-4, rtol=1e-3)
    assert (recon - raw).pow(2).sum() < 0.5 * (raw - raw.mean(0)).pow(2).sum(), "it reconstructs"
    meta = out["metadata"]
    assert meta[SCALE_KEY] == pytest.approx(activation_cache.scale)
    assert meta["hook_name"] == "blocks.0.hook_resid_post" and meta["context_size"] == 4
    assert meta["prepend_bos"] is True and meta["bos_in_training"] is False
