"""The main job's contracts: config validation naming the key, run folder written all at once."""

from __future__ import annotations

import json

import pytest

from qscale.errors import QscaleUserError
from qscale.study.schema import load_config, parse_config


def test_unknown_key_is_named():
    with pytest.raises(QscaleUserError, match=r"unknown key 'qaoa.nodez'"):
        parse_config({"qaoa": {"nodez": 3}})


def test_bad_value_is_named():
    with pytest.raises(QscaleUserError, match=r"'qaoa.nodes'"):
        parse_config({"qaoa": {"nodes": 1}})
    with pytest.raises(QscaleUserError, match=r"'study.device'"):
        parse_config({"study": {"device": "tpu"}})


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[qaoa\nnodes = 3")
    with pytest.raises(QscaleUserError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(QscaleUserError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_default_config_file_is_valid():
    from pathlib import Path

    cfg = load_config(Path(__file__).parents[1] / "configs" / "default.toml")
    assert cfg.qaoa.enabled


def test_study_quick_writes_run_folder(cli_fast, quick_study):
    out, res = quick_study.folder, quick_study.result
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["run_folder"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "report.html", "results.json"]
    results = json.loads((out / "results.json").read_text())
    assert results["quick"] is True
    assert results["stages"]["qaoa"]["optimized"]["approximation_ratio"] > 0.5
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "QAOA" in html
    resolved = load_config(out / "config.toml")
    assert resolved.qaoa.nodes <= 10
    # The same folder again is refused, and nothing is half-written.
    again = cli_fast("study", "--quick", "--out", str(out), "--json")
    assert again.code == 2 and "already exists" in again.stderr


def test_study_bad_config_exits_2_and_writes_nothing(cli_fast, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[qaoa]\nnodes = 'many'\n")
    out = tmp_path / "run"
    res = cli_fast("study", str(cfg), "--out", str(out), "--json")
    assert res.code == 2
    assert "qaoa.nodes" in res.stderr
    assert not out.exists() and not list(tmp_path.glob(".run*"))
