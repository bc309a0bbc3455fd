"""`qscale sweep` planning: grid parsing and typing, bad input (exit 2, one line, nothing written), cell ids,
the table, and one cell run directly (no Ray: those tests are in test_sweep_run.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from qscale.errors import QscaleUserError
from qscale.study.sweep.grid import build_plan, coerce, parse_grid_option, split_values
from qscale.study.sweep.runner import execute_cell
from qscale.study.sweep.table import columns, read_table, rows_for, write_table

TINY = """
[study]
name = "tiny"
seed = 1
[qaoa]
nodes = 6
depths = [1]
restarts = 1
shots = 32
[quantization]
enabled = false
[qpca]
enabled = false
[generative]
enabled = false
[site]
enabled = false
[outlook]
enabled = false
[qnn]
enabled = false
[coprocessor]
enabled = false
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _invoke(*args: str):
    from qscale.cli import app

    return CliRunner().invoke(app, list(args))


def test_split_values_keeps_brackets_together():
    assert split_values("1, [2,3] ,4") == ["1", "[2,3]", "4"]
    assert parse_grid_option("qaoa.depths=[1,2],[1,2,3]") == ("qaoa.depths", ["[1,2]", "[1,2,3]"])


def test_values_are_typed_by_the_schema():
    assert coerce("qaoa.nodes", "10") == 10
    assert coerce("qaoa.depths", "[1,2]") == [1, 2]
    assert coerce("qaoa.depths", "3") == [3]  # a single item for a list field: a one-item list
    assert coerce("quantization.methods", "rtn") == ["rtn"]
    assert coerce("qaoa.enabled", "false") is False
    assert coerce("site.carbon_price_usd_per_t", "none") is None
    assert coerce("site.carbon_price_usd_per_t", "50") == 50.0
    assert coerce("qpca.data", "synthetic:16") == "synthetic:16"
    with pytest.raises(QscaleUserError, match=r"qaoa\.nodes=40"):
        coerce("qaoa.nodes", "40")
    with pytest.raises(QscaleUserError, match=r"quantization\.methods"):
        coerce("quantization.methods", "magic")


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        (["qaoa.nodez=10,12"], "unknown key 'qaoa.nodez'"),
        (["qaoa=10"], "unknown key 'qaoa'"),
        (["nosuch.key=1"], "unknown key 'nosuch.key'"),
        (["qaoa.nodes=10,40"], "qaoa.nodes=40"),
        (["qaoa.nodes="], "empty value"),
        (["qaoa.nodes"], "expected KEY=V1,V2"),
        (["outlook.years=2020"], "cell outlook.years=[2020]"),  # a check of the whole section, per cell
        ([], "empty grid"),
    ],
)
def test_bad_grid_exits_2_with_one_line_and_writes_nothing(tiny, tmp_path, grid, needle):
    out = tmp_path / "sw"
    args = ["sweep", str(tiny), "--out", str(out), "--json"]
    for g in grid:
        args += ["--grid", g]
    r = _invoke(*args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr
    assert r.stdout == ""
    assert not out.exists()


def test_seeds_and_a_seed_axis_exclude_each_other(tiny, tmp_path):
    r = _invoke("sweep", str(tiny), "--seeds", "2", "--grid", "study.seed=1,2", "--out", str(tmp_path / "sw"))
    assert r.exit_code == 2 and "not both" in r.stderr


def test_unreachable_address_is_a_user_error_naming_it(tiny, tmp_path):
    out = tmp_path / "sw"
    r = _invoke("sweep", str(tiny), "--grid", "qaoa.nodes=6", "--address", "127.0.0.1:9", "--out", str(out))
    assert r.exit_code == 2, r.output
    assert "127.0.0.1:9" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_cell_ids_depend_only_on_the_resolved_config(tiny):
    a = build_plan(tiny, ["qaoa.nodes=6,8"], None, quick=False)
    b = build_plan(tiny, ["qaoa.nodes=8", "study.seed=1"], None, quick=False)  # seed 1 is the file's own
    c = build_plan(tiny, ["qaoa.nodes=6,8"], None, quick=False)
    assert [x.id for x in a.cells] == [x.id for x in c.cells]
    assert a.cells[1].id == b.cells[0].id
    assert len({x.id for x in a.cells}) == 2
    # the same id in another interpreter: no process-specific hashing
    code = (
        "import sys; from qscale.study.sweep.grid import build_plan; "
        "print(build_plan(sys.argv[1], ['qaoa.nodes=6,8'], None, False).cells[0].id)"
    )
    other = subprocess.run([sys.executable, "-c", code, str(tiny)], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == a.cells[0].id


def test_seeds_axis_and_quick_keep_explicit_values(tiny):
    plan = build_plan(tiny, ["qaoa.nodes=12"], 3, quick=True)
    assert [c.overrides["study.seed"] for c in plan.cells] == [1, 2, 3]
    assert all(c.config.qaoa.nodes == 12 for c in plan.cells)  # --quick shrinks to 10; the grid value wins
    assert plan.varying == ["study.seed"]


def test_sweep_table_in_the_config_file(tmp_path):
    path = tmp_path / "def.toml"
    path.write_text(TINY + '\n[sweep]\nname = "filegrid"\ngrid = {"qaoa.nodes" = [6, 8], "qaoa.depths" = [[1]]}\n')
    plan = build_plan(path, ["qaoa.nodes=10"], None, quick=False)  # the command line replaces the file's axis
    assert plan.name == "filegrid"
    assert [c.overrides for c in plan.cells] == [{"qaoa.nodes": 10, "qaoa.depths": [1]}]
    path.write_text(TINY + "\n[sweep]\ngrdi = 1\n")
    with pytest.raises(QscaleUserError, match="grdi"):
        build_plan(path, ["qaoa.nodes=6"], None, quick=False)


def test_table_flattens_results_and_keeps_one_type_per_column(tmp_path):
    cells = [
        {"id": "a", "status": "done", "seconds": 1.5, "node_ip": "x", "overrides": {"qaoa.nodes": 6},
         "results": {"stages": {"qaoa": {"ratio": 0.8, "depths": [1, 2], "n": 6}}}},
        {"id": "b", "status": "failed", "error": "boom", "overrides": {"qaoa.nodes": 8}, "results": None},
        {"id": "c", "status": "done", "seconds": 2, "overrides": {"qaoa.nodes": 10},
         "results": {"stages": {"qaoa": {"ratio": 1, "depths": [1], "n": "ten"}}}},
    ]  # fmt: skip
    rows = rows_for(cells)
    cols = columns(rows)
    assert cols["stages.qaoa.ratio"] == ("float", [0.8, None, 1.0])
    assert cols["grid.qaoa.nodes"] == ("int", [6, 8, 10])
    assert cols["stages.qaoa.depths"] == ("string", ["[1,2]", None, "[1]"])
    assert cols["stages.qaoa.n"][0] == "string"  # 6 and "ten" mix: text
    back = read_table(write_table(rows, tmp_path))
    assert [r["cell_id"] for r in back] == ["a", "b", "c"]
    assert back[1]["cell_error"] == "boom" and back[0]["stages.qaoa.ratio"] == 0.8


def test_execute_cell_returns_a_study_run_or_the_error_with_its_log(tiny):
    plan = build_plan(tiny, ["qaoa.graph=regular:3,nonsense"], None, quick=False)
    ok, bad = (execute_cell(c.config.model_dump(mode="json"), False, 1) for c in plan.cells)
    assert ok["status"] == "done"
    assert set(ok["files"]) == {"config.toml", "results.json", "report.html"}
    assert json.loads(ok["files"]["results.json"])["stages"]["qaoa"]["n_qubits"] == 6
    assert "stage qaoa: done" in ok["log"]
    assert bad["status"] == "failed" and "unknown graph spec 'nonsense'" in bad["error"]
    assert "stage qaoa: start" in bad["log"] and "Traceback" in bad["traceback"]


def test_cases_are_one_more_axis_of_override_sets(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text(
        TINY
        + '\n[sweep]\ngrid = {"qaoa.nodes" = [6, 8]}\n'
        + '[[sweep.cases]]\n"qaoa.depths" = [1]\n'
        + '[[sweep.cases]]\n"qaoa.depths" = [1, 2]\n"qaoa.restarts" = 2\n'
    )
    plan = build_plan(path, [], None, quick=False)
    assert [c.overrides for c in plan.cells] == [
        {"qaoa.nodes": 6, "qaoa.depths": [1]},
        {"qaoa.nodes": 6, "qaoa.depths": [1, 2], "qaoa.restarts": 2},
        {"qaoa.nodes": 8, "qaoa.depths": [1]},
        {"qaoa.nodes": 8, "qaoa.depths": [1, 2], "qaoa.restarts": 2},
    ]
    assert plan.varying == ["qaoa.nodes", "qaoa.depths", "qaoa.restarts"]
    with pytest.raises(QscaleUserError, match="both the grid and"):
        build_plan(path, ["qaoa.restarts=3"], None, quick=False)
