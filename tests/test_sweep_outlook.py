"""The outlook Monte Carlo in seeded chunks: the same statistics serially and as Ray tasks, and the same draws
as before chunking for runs that fit in one chunk."""

from __future__ import annotations

import numpy as np
import pytest

from qscale.distributed import ray_map
from qscale.outlook import sampling
from qscale.outlook.model import run_outlook
from qscale.outlook.sampling import REQUIRED_RANGES, chunks, draw, draw_range
from qscale.outlook.scenarios import load_scenarios


def _stats(r: dict) -> dict:
    """Everything but how long and where the chunks ran."""
    return {k: v for k, v in r.items() if k not in ("seconds", "execution")}


def test_chunks_cover_the_samples_in_order():
    assert chunks(7, size=3) == [(0, 3), (1, 3), (2, 1)]
    assert chunks(3, size=3) == [(0, 3)]


def test_one_chunk_draws_what_the_unchunked_sampler_drew():
    sc = load_scenarios(None)
    u = np.random.default_rng(7).random((len(REQUIRED_RANGES), 50))
    old = {name: draw_range(sc.ranges[name], u[i]) for i, name in enumerate(REQUIRED_RANGES)}
    new = draw(sc, 50, 7)
    assert all(np.array_equal(old[k], new[k]) for k in REQUIRED_RANGES)


def test_chunked_serial_and_ray_runs_give_identical_statistics(monkeypatch):
    monkeypatch.setattr(sampling, "CHUNK_SAMPLES", 100)  # 4 chunks for 350 samples: exercises the join
    serial = run_outlook(samples=350, seed=5, years=[2030, 2045]).to_json()
    assert serial["chunks"] == 4
    parallel = run_outlook(samples=350, seed=5, years=[2030, 2045], map_chunks=ray_map).to_json()
    assert _stats(parallel) == _stats(serial)
    other = run_outlook(samples=350, seed=6, years=[2030, 2045]).to_json()
    assert _stats(other) != _stats(serial)


def test_chunks_are_seeded_by_index_not_by_worker():
    sc = load_scenarios(None)
    a = draw(sc, 10, 3, chunk=1)
    b = draw(sc, 10, 3, chunk=1)
    c = draw(sc, 10, 3, chunk=2)
    assert all(np.array_equal(a[k], b[k]) for k in REQUIRED_RANGES)
    assert not all(np.array_equal(a[k], c[k]) for k in REQUIRED_RANGES)


@pytest.mark.parametrize("args", [["--samples", "0", "--parallel"], ["--samples", "10", "--address", "127.0.0.1:9"]])
def test_outlook_parallel_bad_input_is_exit_2(args):
    from typer.testing import CliRunner

    from qscale.cli import app

    r = CliRunner().invoke(app, ["outlook", *args, "--json"])
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1
