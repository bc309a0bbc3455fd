"""Sequential whole-model quantization on a tiny random Llama and the job function (saving: test_quant_checkpoint)."""

from __future__ import annotations

import pytest
import torch

from qscale.errors import QscaleUserError
from qscale.llm.models import tiny_random_llama
from qscale.llm.quant import make_quantizer
from qscale.llm.quant.hessian import HessianAccumulator, relative_error
from qscale.llm.quant.job import run_quantize
from qscale.llm.quant.runner import capture_block_inputs, execution_groups, quantize_model
from qscale.llm.text import pydoc_split, token_windows

ORDER = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
         "mlp.up_proj", "mlp.down_proj"]


def calib(loaded, n: int = 4, seq_len: int = 64) -> torch.Tensor:
    return token_windows(loaded.tokenizer, pydoc_split().calibration, seq_len, n, seed=0)


def test_layers_run_in_execution_order_with_inputs_from_quantized_layers():
    loaded = tiny_random_llama(seed=2)
    windows = calib(loaded)
    results = quantize_model(loaded.model, windows, lambda: make_quantizer("gptq", bits=3), batch_size=2)
    assert [r.name for r in results] == [f"model.layers.{i}.{s}" for i in range(2) for s in ORDER]
    # Inputs each layer sees in the final, fully quantized model = the inputs it was quantized on, so
    # recomputing the relative error from them reproduces the reported one (fails if not sequential).
    modules = dict(loaded.model.named_modules())
    accs = {r.name: HessianAccumulator(modules[r.name].in_features) for r in results}
    hooks = [modules[n].register_forward_pre_hook(lambda _m, a, n=n: accs[n].add(a[0])) for n in accs]
    with torch.no_grad():
        for start in range(0, windows.shape[0], 2):
            loaded.model(input_ids=windows[start : start + 2])
    for h in hooks:
        h.remove()
    original = tiny_random_llama(seed=2).model
    orig_modules = dict(original.named_modules())
    mismatched = {}
    for r in results:
        W0 = orig_modules[r.name].weight.detach()
        recomputed = relative_error(W0, modules[r.name].weight.detach(), accs[r.name].hessian)
        if recomputed != pytest.approx(r.relative_error, rel=1e-4):
            mismatched[r.name] = (recomputed, r.relative_error)
    assert not mismatched


def test_one_hessian_pass_per_block_differs_only_after_the_first_group():
    """true_sequential=False (llmcompressor's order): each block's first group sees the same inputs either way;
    later groups are fitted on the unquantized block's activations, so their weights change."""
    windows = calib(tiny_random_llama(seed=2))
    runs = {}
    for flag in (True, False):
        loaded = tiny_random_llama(seed=2)
        make = lambda: make_quantizer("gptq", bits=3)  # noqa: E731
        quantize_model(loaded.model, windows, make, batch_size=2, true_sequential=flag)
        runs[flag] = dict(loaded.model.named_parameters())
    q, o = "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.o_proj.weight"
    assert torch.equal(runs[True][q], runs[False][q])
    assert not torch.equal(runs[True][o], runs[False][o])


@pytest.mark.parametrize("pattern", ["*", "model.layers.1.mlp.*"])
def test_data_free_one_pass_matches_the_group_by_group_path(monkeypatch, pattern):
    """Round-to-nearest quantizes a block first and records every Hessian and the block output in one pass;
    forcing it down the group-by-group Hessian path must give the same weights, errors and order."""
    from qscale.llm.quant.rtn import RTNQuantizer

    windows = calib(tiny_random_llama(seed=4))
    runs = []
    for needs in (False, True):
        monkeypatch.setattr(RTNQuantizer, "needs_hessian", needs)
        loaded = tiny_random_llama(seed=4)
        seen = []
        results = quantize_model(loaded.model, windows, lambda: make_quantizer("rtn", bits=3), pattern,
                                 batch_size=2, on_layer=lambda n, d, t, seen=seen: seen.append((n, d, t)))  # fmt: skip
        runs.append((loaded.model.state_dict(), [(r.name, r.relative_error) for r in results], seen))
    (w_one, err_one, seen_one), (w_seq, err_seq, seen_seq) = runs
    assert all(torch.equal(w_one[k], w_seq[k]) for k in w_seq)
    assert err_one == err_seq and seen_one == seen_seq
    assert all(0 < e < 1 for _, e in err_one)


def test_sublayer_groups_are_found_every_time():
    """q/k/v share an input, o alone, gate/up share one, down alone, on every try: a freed input whose memory
    is reused by the next one must not merge o_proj with gate/up (it did, 1 in 8 times, when grouping by
    storage address)."""
    loaded = tiny_random_llama(seed=2)
    inputs = capture_block_inputs(loaded.model, loaded.model.model.layers[0], calib(loaded), 2)
    expected = [ORDER[:3], ORDER[3:4], ORDER[4:6], ORDER[6:]]
    for i in range(60):
        assert execution_groups(loaded.model.model.layers[i % 2], *inputs[0]) == expected


def test_layer_pattern_selects_and_leaves_the_rest_untouched():
    loaded = tiny_random_llama(seed=3)
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    make = lambda: make_quantizer("rtn", bits=2)  # noqa: E731
    results = quantize_model(loaded.model, calib(loaded, 2), make, "model.layers.1.mlp.*")
    assert [r.name for r in results] == [f"model.layers.1.{s}" for s in ORDER[4:]]
    after = loaded.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {f"{r.name}.weight" for r in results}


def test_pattern_matching_nothing_and_nan_weights_are_user_errors():
    loaded = tiny_random_llama()
    with pytest.raises(QscaleUserError, match="matches no linear layer"):
        quantize_model(loaded.model, calib(loaded, 1), lambda: make_quantizer("rtn", bits=4), "model.layers.9.*")
    with torch.no_grad():
        loaded.model.model.layers[0].mlp.up_proj.weight[0, 0] = float("nan")
    with pytest.raises(QscaleUserError, match="NaN"):
        quantize_model(loaded.model, calib(loaded, 1), lambda: make_quantizer("rtn", bits=4))


def test_qaoa_job_reports_success_rate_baseline_and_resources():
    out = run_quantize(
        model="tiny-random", bits=3, method="qubo", solver="qaoa", layers="model.layers.0.self_attn.*",
        seq_len=64, calib_windows=2, eval_windows=1, qaoa_p=2, shots=128, device="cpu",
    ).to_json()
    assert out["layers_quantized"] == 4
    assert out["kinds"]["qaoa_optimal_fraction"] == "simulated"
    assert out["qaoa"]["kind"] == "simulated" and out["quantum_resources"]["kind"] == "projected"
    assert 0.8 <= out["qaoa_optimal_fraction"] <= 1.0
    assert out["qaoa_optimal_fraction"] > out["qaoa"]["random_guess_optimal_fraction"]
    res = out["quantum_resources"]
    rows = [64, 32, 32, 64]  # q, k, v (2 of 4 heads' width for k/v), o; 64 columns = 8 blocks each
    q = out["qaoa"]
    assert q["rounding_qubos"] == sum(r * 8 for r in rows)
    assert q["move_qubos"] in (q["rounding_qubos"], 2 * q["rounding_qubos"])  # 2 sweeps unless converged after 1
    assert res["circuits"] == q["block_qubos"] == q["rounding_qubos"] + q["move_qubos"]
    assert 0.8 <= q["rounding_optimal_fraction"] <= 1.0 and 0.8 <= q["move_optimal_fraction"] <= 1.0
    assert res["qubits_per_circuit"] == 8 and res["shots_total"] == res["circuits"] * 128
    assert set(out["relative_error"]) == {f"model.layers.0.self_attn.{p}_proj" for p in "qkvo"}
