"""Adapters beside frozen linear layers: equal sizes, zero start, one batched circuit call, training, save/reload."""

from __future__ import annotations

import math

import pytest
import torch

from qscale.errors import QscaleUserError
from qscale.llm.models import tiny_random_llama
from qscale.qnn.adapters import (
    ADAPTERS,
    MATCH_TOLERANCE,
    TARGETS,
    AngleQuantum,
    TimedCore,
    check_save_folder,
    insert_adapters,
    parse_targets,
    plan_adapters,
)


@pytest.fixture
def lm():
    return tiny_random_llama(seed=0)


def _ids(batch: int = 2, seq: int = 12) -> torch.Tensor:
    return torch.randint(1, 90, (batch, seq), generator=torch.Generator().manual_seed(3))


def test_unknown_target_lists_the_valid_names():
    with pytest.raises(QscaleUserError) as info:
        parse_targets("q_proj,qkv")
    assert "'qkv'" in str(info.value)
    for name in TARGETS:
        assert name in str(info.value)
    assert parse_targets(" v_proj , q_proj ") == ("v_proj", "q_proj")
    with pytest.raises(QscaleUserError):
        parse_targets("q_proj,q_proj")
    with pytest.raises(QscaleUserError):
        parse_targets("")


@pytest.mark.parametrize(
    ("targets", "qubits", "layers"),
    [("q_proj,v_proj", 4, 1), ("q_proj,v_proj", 4, 2), (",".join(TARGETS), 6, 2), ("down_proj", 3, 1)],
)
def test_counts_agree_within_five_percent_and_match_the_built_modules(targets, qubits, layers):
    plan = plan_adapters(tiny_random_llama().model, "quantum", targets, qubits, layers)
    assert plan.max_mismatch() <= MATCH_TOLERANCE
    for kind in ADAPTERS:
        adapted = insert_adapters(tiny_random_llama().model, kind, targets, qubits, layers, seed=0)
        assert adapted.trainable_count() == plan.counts[kind]
        assert abs(adapted.trainable_count() - plan.counts["quantum"]) <= MATCH_TOLERANCE * plan.counts["quantum"]
    # the quantum count by hand: A (n x d_in), B (d_out x n), weights (L, n, 3) per module
    model = tiny_random_llama().model
    manual = 0
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and name.rpartition(".")[2] in targets.split(","):
            manual += qubits * mod.in_features + mod.out_features * qubits + layers * qubits * 3
    assert manual == plan.counts["quantum"]


@pytest.mark.parametrize("kind", ADAPTERS)
def test_zero_init_output_equals_the_base_model(lm, kind):
    ids = _ids()
    with torch.no_grad():
        base = lm.model(input_ids=ids).logits.clone()
    adapted = insert_adapters(lm.model, kind, "q_proj,v_proj,down_proj", 4, 1, seed=5)
    with torch.no_grad():
        out = adapted.model(input_ids=ids).logits
    assert torch.equal(out, base)
    frozen = [p for n, p in adapted.model.named_parameters() if not p.requires_grad]
    assert frozen and all(not p.requires_grad for p in frozen)


def test_quantum_core_runs_once_per_adapter_on_all_token_rows(lm):
    adapted = insert_adapters(lm.model, "quantum", "q_proj,v_proj", 3, 1, seed=0)
    instances = len(adapted.plan.modules)
    with torch.no_grad():
        adapted.model(input_ids=_ids(batch=3, seq=10))
    assert adapted.timer.forward_calls == instances
    assert adapted.timer.rows == instances * 3 * 10
    assert len(adapted.quantum_layers()) == instances


def test_training_moves_every_adapter_tensor_and_lowers_the_loss(lm):
    adapted = insert_adapters(lm.model, "quantum", "q_proj,v_proj", 4, 1, seed=0)
    params = [p for _, p in adapted.trainable()]
    start = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=3e-2)
    ids = _ids(batch=4, seq=16)
    losses = []
    for _ in range(8):
        loss = adapted.model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert all(not torch.equal(p, s) for p, s in zip(params, start, strict=True))
    assert adapted.timer.forward_calls > 0 and math.isfinite(adapted.timer.seconds)  # recorded, not judged


def test_timed_core_gives_the_same_values_and_gradients():
    from qscale.qnn import QuantumLayer

    layer = QuantumLayer(3, 2, seed=1)
    core = AngleQuantum(layer)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    direct = core(z)
    g_direct = torch.autograd.grad(direct.square().sum(), [z, layer.weights])
    timed = TimedCore(core)(z)
    g_timed = torch.autograd.grad(timed.square().sum(), [z, layer.weights])
    assert torch.allclose(direct, timed)
    for a, b in zip(g_direct, g_timed, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_angles_are_bounded():
    from qscale.qnn import QuantumLayer

    seen = []
    layer = QuantumLayer(2, 1, seed=0)
    layer.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    AngleQuantum(layer)(torch.tensor([[1e6, -1e6], [0.0, 3.0]]))
    assert seen[0].abs().max() <= torch.pi / 2


def test_nan_hidden_states_reach_the_layers_nan_check(lm):
    adapted = insert_adapters(lm.model, "quantum", "q_proj", 2, 1, seed=0)
    name = adapted.plan.modules[0]
    module = adapted.model.get_submodule(name)
    x = torch.ones(1, 3, module.in_features)
    x[0, 1, 0] = float("nan")
    with pytest.raises(QscaleUserError, match="NaN"):
        module(x)


def test_nan_weights_are_refused_before_training():
    from qscale.llm.models import LoadedModel
    from qscale.qnn.finetune import run_finetune

    lm = tiny_random_llama()
    with torch.no_grad():
        lm.model.model.layers[0].self_attn.q_proj.weight[0, 0] = float("nan")
    loaded = LoadedModel(lm.model, lm.tokenizer, "tiny-random", "test")
    with pytest.raises(QscaleUserError, match="NaN"):
        run_finetune("tiny-random", "lora", qubits=2, qnn_layers=1, steps=1, seq_len=16, batch=1, loaded=loaded)


def test_save_folder_must_be_empty(tmp_path):
    check_save_folder(tmp_path / "new")
    check_save_folder(tmp_path)
    (tmp_path / "x").write_text("x")
    with pytest.raises(QscaleUserError):
        check_save_folder(tmp_path)


@pytest.mark.parametrize("kind", ADAPTERS)
def test_save_and_reload_give_the_same_perplexity(tmp_path, kind):
    from qscale.qnn.finetune import reload_perplexity, run_finetune

    folder = tmp_path / "adapter"
    result = run_finetune(
        "tiny-random", kind, qubits=3, qnn_layers=1, steps=3, seq_len=24, batch=2, lr=3e-2, seed=1, eval_windows=3,
        val_windows=2, save=folder, device="cpu",
    )
    assert (folder / "adapter.safetensors").is_file() and (folder / "adapter_config.json").is_file()
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))
    assert result.perplexity_after != result.perplexity_before  # training moved it
    again = reload_perplexity("tiny-random", folder, seq_len=24, eval_windows=3, device="cpu")
    assert again == pytest.approx(result.perplexity_after, rel=1e-6)
