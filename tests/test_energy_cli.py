"""`qscale energy ...` as a user runs it: acceptance numbers, the ledger entry on every command, exit codes."""

from __future__ import annotations

import pytest

GPT3 = [
    "energy",
    "train",
    "--params",
    "175e9",
    "--tokens",
    "300e9",
    "--hardware",
    "V100",
    "--devices",
    "10000",
    "--hw-efficiency",
    "0.197",
    "--avg-power-w",
    "330",
    "--pue",
    "1.1",
    "--intensity-kg-per-kwh",
    "0.429",
]
COMMANDS = {
    "train": GPT3,
    "train-gpu-hours": [
        "energy",
        "train",
        "--gpu-hours",
        "2e5",
        "--avg-power-w",
        "400",
        "--pue",
        "1.2",
        "--intensity-kg-per-kwh",
        "0.3",
    ],
    "infer": ["energy", "infer", "--params", "8e9", "--batch", "8", "--hardware", "H100"],
    "qpu": ["energy", "qpu", "--modality", "neutral_atom", "--qubits", "50", "--two-qubit-depth", "10"],
    "ft": ["energy", "ft", "--logical-qubits", "100", "--t-count", "1e6", "--rotation-count", "1e4"],
    "validate": ["energy", "validate"],
    "list": ["energy", "list"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_energy_command_carries_its_ledger(cli, name):
    res = cli(*COMMANDS[name], "--json")
    assert res.code == 0, res.stderr
    ledger = res.json()["energy"]
    assert ledger["kind"] in ("measured", "estimated", "mixed")
    assert ledger["energy_j"] >= 0 and ledger["seconds"] >= 0
    assert ledger["breakdown"] and all(b["kind"] in ("measured", "estimated") for b in ledger["breakdown"])


def test_gpt3_acceptance(cli):
    r = cli(*GPT3, "--json").json()
    assert r["energy_mwh"] == pytest.approx(1287, rel=0.05)
    assert r["co2_t"] == pytest.approx(552, rel=0.05)
    assert r["co2_embodied_t"] > 0 and r["days"] > 0
    assert r["inputs"]["hw_efficiency"]["value"] == 0.197


def test_gpu_hours_form(cli):
    r = cli(*COMMANDS["train-gpu-hours"], "--devices", "100", "--json").json()
    assert r["form"] == "device_hours"
    assert r["energy_mwh"] == pytest.approx(2e5 * 400 * 1.2 / 1e6)
    assert r["co2_t"] == pytest.approx(r["energy_mwh"] * 0.3)
    assert r["days"] == pytest.approx(2e5 / 100 / 24)


def test_ft_acceptance(cli):
    anchor = cli(
        "energy", "ft", "--logical-qubits", "1", "--logical-depth", "1", "--target-per-cycle", "1e-12", "--json"
    ).json()
    assert (anchor["code_distance"], anchor["physical_qubits_per_logical_qubit"]) == (21, 882)
    sized = cli(*COMMANDS["ft"], "--json").json()
    assert sized["physical_qubits"] > 230 * sized["physical_qubits_per_logical_qubit"]  # algorithm + factories
    assert sized["runtime_s"] > 0 and sized["energy_j"]["typical"] > 0


def test_presets_and_human_output(cli):
    res = cli(
        "energy", "train", "--gpu-hours", "1000", "--hardware", "H100", "--pue", "google-fleet", "--grid", "france"
    )
    assert res.code == 0, res.stderr
    assert "MWh" in res.stdout and "this run" in res.stdout
    r = cli(
        "energy",
        "train",
        "--gpu-hours",
        "1000",
        "--hardware",
        "H100",
        "--pue",
        "google-fleet",
        "--grid",
        "france",
        "--json",
    ).json()
    assert r["inputs"]["pue"]["value"] == pytest.approx(1.10)
    assert r["inputs"]["intensity_kg_per_kwh"]["value"] == 0.056
    assert "Ember" in r["inputs"]["intensity_kg_per_kwh"]["source"]


@pytest.mark.parametrize(
    "args, reason",
    [
        (
            [
                "energy",
                "train",
                "--params",
                "-175e9",
                "--tokens",
                "3e11",
                "--hardware",
                "V100",
                "--devices",
                "8",
                "--hw-efficiency",
                "0.3",
            ],
            "--params must be a positive",
        ),
        (
            [
                "energy",
                "train",
                "--params",
                "1e9",
                "--tokens",
                "3e11",
                "--hardware",
                "V100",
                "--devices",
                "0",
                "--hw-efficiency",
                "0.3",
            ],
            "--devices",
        ),
        (
            [
                "energy",
                "train",
                "--params",
                "1e9",
                "--tokens",
                "3e11",
                "--hardware",
                "Z80",
                "--devices",
                "8",
                "--hw-efficiency",
                "0.3",
            ],
            "unknown hardware 'Z80'; known: V100, A100-40",
        ),
        (["energy", "train", "--gpu-hours", "10", "--avg-power-w", "300", "--pue", "0.8"], "PUE must be >= 1"),
        (["energy", "infer", "--params", "8e9", "--batch", "0"], "--batch"),
        (["energy", "qpu", "--qubits", "-3", "--two-qubit-depth", "2"], "--qubits"),
        (["energy", "ft", "--logical-qubits", "0", "--t-count", "10"], "--logical-qubits"),
        (["energy", "train", "--gpu-hours", "10", "--avg-power-w", "300", "--grid", "atlantis"], "known: world"),
    ],
)
def test_bad_input_exits_2_with_reason(cli_fast, args, reason):
    res = cli_fast(*args, "--json")
    assert res.code == 2
    assert res.stdout == ""
    assert reason in " ".join(res.stderr.split())  # the console may wrap the one-line reason
