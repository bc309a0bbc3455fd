"""qPCA building blocks: baselines, quality measures, data loading and caching, resources, study stage."""

from __future__ import annotations

import numpy as np
import pytest

from qscale.algorithms.qpca import data as qpca_data
from qscale.algorithms.qpca.baselines import exact_pca, l2_sampling_pca, randomized_pca
from qscale.algorithms.qpca.quality import (
    captured_variance_ratio,
    explained_variance,
    principal_angles_deg,
    recall_at_k,
)
from qscale.algorithms.qpca.resources import dme_step_depth, resources
from qscale.algorithms.qpca.schedule import plan
from qscale.errors import QscaleUserError


@pytest.fixture(scope="module")
def data():
    ds = qpca_data.synthetic(40, 5, samples=600, seed=11)
    return qpca_data.prepare(ds.fit), ds


def test_exact_pca_matches_scikit_learn(data):
    from sklearn.decomposition import PCA

    prep, _ = data
    ours = exact_pca(prep.centred, 5).components
    ref = PCA(5, svd_solver="full").fit(prep.centred).components_
    assert principal_angles_deg(ours, ref).max() < 1e-6
    assert np.isclose(explained_variance(ours, prep.covariance)[0], np.linalg.eigvalsh(prep.covariance)[-1])


def test_randomized_svd_finds_a_well_separated_subspace(data):
    prep, _ = data
    exact = exact_pca(prep.centred, 5).components
    assert principal_angles_deg(randomized_pca(prep.centred, 5).components, exact).max() < 1.0


def test_l2_sampling_pca_improves_with_samples(data):
    prep, _ = data
    exact = exact_pca(prep.centred, 3).components

    def worst(samples):
        return np.mean(
            [
                principal_angles_deg(l2_sampling_pca(prep.centred, 3, samples, seed=s).components, exact).max()
                for s in range(5)
            ]
        )

    few, many = worst(10), worst(400)
    assert many < few
    assert many < 10.0
    b = l2_sampling_pca(prep.centred, 3, 50)
    assert b.parameters["row_samples"] == 50 and b.components.shape == (3, 40)
    with pytest.raises(QscaleUserError, match="at least k"):
        l2_sampling_pca(prep.centred, 3, 2)


def test_quality_measures_have_the_right_extremes(data):
    prep, ds = data
    eye = np.eye(40)
    assert np.allclose(principal_angles_deg(eye[:3], eye[:3]), 0)
    assert np.allclose(principal_angles_deg(eye[3:6], eye[:3]), 90)
    assert np.allclose(principal_angles_deg(eye[:2], eye[:3]), [90, 0, 0])  # missing direction = 90 deg
    assert np.allclose(principal_angles_deg(np.zeros((0, 40)), eye[:3]), 90)
    assert captured_variance_ratio(eye, prep.covariance) == pytest.approx(1.0)
    ev = ds.eval - prep.mean
    assert recall_at_k(ev, eye, 10) == pytest.approx(1.0)  # the full space keeps every neighbour
    rand = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 2)))[0].T
    top = exact_pca(prep.centred, 5).components
    assert recall_at_k(ev, top, 10) > recall_at_k(ev, rand, 10)


def test_check_matrix_and_npy_loading(tmp_path):
    with pytest.raises(QscaleUserError, match="2-D"):
        qpca_data.check_matrix(np.zeros(5), "x")
    with pytest.raises(QscaleUserError, match="numeric"):
        qpca_data.check_matrix(np.array([["a", "b"]] * 4), "x")
    with pytest.raises(QscaleUserError, match="at least 3 rows"):
        qpca_data.check_matrix(np.zeros((2, 4)), "x")
    inf = np.ones((5, 3))
    inf[4, 1] = np.inf
    with pytest.raises(QscaleUserError, match="row 4, column 1"):
        qpca_data.check_matrix(inf, "x")
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(QscaleUserError, match="pickled"):
        qpca_data.load_npy(obj)
    good = tmp_path / "good.npy"
    np.save(good, np.arange(12.0).reshape(4, 3) ** 2)
    ds = qpca_data.load_dataset(str(good))
    assert ds.fit.shape == (4, 3) and ds.eval is ds.fit
    with pytest.raises(QscaleUserError, match="zero variance"):
        qpca_data.prepare(np.ones((5, 3)))
    with pytest.raises(QscaleUserError, match="unknown --data"):
        qpca_data.load_dataset("no-such-source")
    with pytest.raises(QscaleUserError, match="synthetic"):
        qpca_data.load_dataset("synthetic:4:9:1")


def test_cache_computes_once_and_never_pickles(tmp_path, monkeypatch):
    monkeypatch.setenv("QSCALE_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6.0).reshape(2, 3)

    a = qpca_data._cached("demo", compute)
    b = qpca_data._cached("demo", compute)
    assert len(calls) == 1 and np.array_equal(a, b)
    assert (tmp_path / "qpca" / "demo.npy").is_file()
    assert qpca_data.passages("short\n\n" + "x" * 50 + "\n\n  \n\n" + "y" * 45) == ["x" * 50, "y" * 45]


def test_resources_count_copies_depth_and_runs():
    schedule = plan(0.2, 4, 15 * 100)
    depth, gates = dme_step_depth(3)
    assert depth == dme_step_depth(3)[0] and gates > depth > 0
    assert dme_step_depth(4)[0] > depth  # one more qubit pair: a longer parity chain
    r = resources(schedule, 3, samples=1000, eigen_shots=5000, tomography_bins=[0.5, 0.1], tomography_shots=100)
    assert r["copies_per_qpe_run"] == 1501
    assert r["two_qubit_depth_per_qpe_run"] == 1500 * depth
    assert r["tomography_qpe_runs"] == 4 * 100 * 2 + 4 * 100 * 10
    assert r["shots"] == 5000 + r["tomography_qpe_runs"]
    assert r["copies_total"] == 1501 * r["shots"]
    assert r["qubits"] == 2 * 3 + 2 + 10
    lo = r["projected_qpu"]["dme_only_lower_bound"]["superconducting"]["energy_j"]["typical"]
    hi = r["projected_qpu"]["with_generic_state_prep"]["superconducting"]["energy_j"]["typical"]
    assert 0 < lo < hi


def test_study_stage_quick_runs_and_plots():
    from qscale.study.config import StudySection
    from qscale.study.qpca_stage import QPCAStage, run

    cfg = QPCAStage().quick().model_copy(update={"bits": [3, 4], "shots": 5000, "tang_samples": 50})
    out = run(cfg, StudySection(device="cpu"), lambda msg: None)
    assert out.name == "qpca" and out.figures and out.figures[0].png.startswith(b"\x89PNG")
    rows = out.tables[0].rows
    assert [r[1] for r in rows][:3] == ["exact_pca", "randomized_svd", "quantum_inspired"]
    assert len(rows) == 3 + 2
    by_k = out.summary["by_k"]["2"]
    assert [q["bits"] for q in by_k["qpca"]] == [3, 4]
    assert set(by_k["classical_baselines"]) == {"exact_pca", "randomized_svd", "quantum_inspired"}
    with pytest.raises(ValueError, match="extra"):
        QPCAStage(unknown=1)
