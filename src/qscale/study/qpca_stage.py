"""Study stage: quantum PCA of LLM embeddings vs phase-estimation bits, beside three classical baselines.

For each k the stage runs qPCA at every `bits` value (copies from the DME error bound) and the classical
baselines once; the plot shows quality against the copies of rho one QPE run consumes, baselines as lines.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qscale.algorithms.qpca.data import load_dataset
from qscale.algorithms.qpca.driver import qpca_on
from qscale.figures import Figure, Table, figure_png, pyplot
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput

BASELINE_STYLES = {"exact_pca": "-", "randomized_svd": "--", "quantum_inspired": ":"}


class QPCAStage(Strict):
    """qPCA of embeddings: quality vs quantum resources (bits, copies, shots) beside PCA baselines."""

    enabled: bool = True
    data: str = "minilm"
    ks: list[int] = Field(default_factory=lambda: [8, 16], min_length=1)
    bits: list[int] = Field(default_factory=lambda: [6, 8, 10, 12], min_length=1)
    shots: int = Field(100_000, ge=1, le=10**9)
    method: Literal["auto", "circuit", "model"] = "auto"
    tang_samples: int = Field(400, ge=1)

    def quick(self) -> QPCAStage:
        """16-dim synthetic data at circuit level: runs in seconds."""
        return self.model_copy(
            update={"data": "synthetic:16", "ks": [2], "bits": [3, 4, 5], "shots": 20_000, "method": "circuit"}
        )


def sweep(cfg: QPCAStage, seed: int, device: str, progress) -> tuple[str, dict[int, dict]]:
    """{k: {"runs": [qpca result per bits], "baselines": {...}}} on the configured data."""
    progress(f"qPCA: loading {cfg.data}")
    dataset = load_dataset(cfg.data, seed=seed, device=device)
    out: dict[int, dict] = {}
    for k in cfg.ks:
        runs = []
        for i, b in enumerate(sorted(set(cfg.bits))):
            progress(f"qPCA: k={k}, {b} bits ({cfg.method})")
            runs.append(
                qpca_on(
                    dataset,
                    k,
                    bits=b,
                    shots=cfg.shots,
                    method=cfg.method,
                    seed=seed,
                    tang_samples=cfg.tang_samples,
                    device=device,
                    baselines=(i == 0),
                ).to_json()
            )
        out[k] = {"runs": runs, "baselines": runs[0].pop("classical_baselines")}
    return dataset.description, out


def _run_summary(r: dict) -> dict:
    res = r["resources"]
    return {
        "bits": res["phase_estimation_bits"],
        "method": r["method"],
        "kind": r["kind"],
        "max_principal_angle_deg": r["max_principal_angle_deg"],
        "explained_variance_ratio": r["explained_variance_ratio"],
        "recall_at_10": r["recall_at_10"],
        "components_found": r["components_found"],
        "copies_per_qpe_run": res["copies_per_qpe_run"],
        "qpe_runs": res["shots"],
        "two_qubit_depth_per_qpe_run": res["two_qubit_depth_per_qpe_run"],
        "qubits": res["qubits"],
        "projected_qpu_seconds_superconducting_lower_bound": res["projected_qpu"]["dme_only_lower_bound"][
            "superconducting"
        ]["seconds"],
        "simulation_seconds": r["simulation_seconds"],
    }


def table_rows(results: dict[int, dict]) -> list[list]:
    """One row per (k, method): baselines first, then qPCA by bits."""
    rows = []
    for k, entry in results.items():
        for name, b in entry["baselines"].items():
            extra = f"{b['parameters']['row_samples']} samples" if name == "quantum_inspired" else "-"
            rows.append(
                [
                    k,
                    name,
                    f"{b['max_principal_angle_deg']:.2f}",
                    f"{b['explained_variance_ratio']:.4f}",
                    f"{b['recall_at_10']:.3f}",
                    extra,
                    "-",
                    "-",
                    f"{b['seconds']:.3g} s (measured)",
                ]
            )
        for r in entry["runs"]:
            s = _run_summary(r)
            qpu = s["projected_qpu_seconds_superconducting_lower_bound"]["typical"]
            rows.append(
                [
                    k,
                    f"qPCA {s['bits']} bits ({s['kind']})",
                    f"{s['max_principal_angle_deg']:.2f}",
                    f"{s['explained_variance_ratio']:.4f}",
                    f"{s['recall_at_10']:.3f}",
                    f"{s['copies_per_qpe_run']:.3g} copies/run",
                    f"{s['qpe_runs']:.3g}",
                    f"{s['two_qubit_depth_per_qpe_run']:.3g}",
                    f">= {qpu:.3g} s (projected QPU)",
                ]
            )
    return rows


TABLE_HEADERS = [
    "k",
    "method",
    "max angle (deg)",
    "variance kept",
    "recall@10",
    "resources",
    "QPE runs",
    "2q depth/run",
    "time",
]


def quality_plot(results: dict[int, dict], data_label: str) -> Figure:
    """Variance kept and max principal angle vs copies of rho per QPE run; classical baselines as lines."""
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (k, entry) in enumerate(results.items()):
        col = colors[i % len(colors)]
        xs = [r["resources"]["copies_per_qpe_run"] for r in entry["runs"]]
        for ax, key in zip(axes, ("explained_variance_ratio", "max_principal_angle_deg"), strict=True):
            ax.plot(xs, [r[key] for r in entry["runs"]], "o-", color=col, label=f"qPCA k={k}")
            for x, r in zip(xs, entry["runs"], strict=True):
                ax.annotate(
                    f"{r['resources']['phase_estimation_bits']}b",
                    (x, r[key]),
                    fontsize=6,
                    textcoords="offset points",
                    xytext=(3, 3),
                )
            for name, b in entry["baselines"].items():
                if key.endswith("deg") and name == "exact_pca":
                    continue  # the reference itself: 0 degrees
                ax.axhline(
                    b[key],
                    color=col,
                    linestyle=BASELINE_STYLES.get(name, "-."),
                    alpha=0.6,
                    lw=1,
                    label=f"{name.replace('_', ' ')} k={k}",
                )
    axes[0].set_ylabel("fraction of variance kept")
    axes[1].set_ylabel("max principal angle to exact PCA (deg)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("copies of rho per QPE run (DME)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=6, loc="best")
    fig.suptitle(f"qPCA ({data_label}): quality vs quantum resources; classical baselines as lines", fontsize=9)
    return Figure(
        "qPCA quality vs copies of rho",
        figure_png(fig),
        "Markers: qPCA at each phase-estimation bit count (labels), copies per QPE run from the DME error bound; "
        "lines: exact PCA (solid; on the right it is the 0-degree reference), randomized SVD (dashed), l2-sampling "
        "PCA (dotted), same k and data. qPCA is simulated (circuit level) or modelled; baselines measured here.",
    )


def run(cfg: QPCAStage, study: StudySection, progress) -> StageOutput:
    description, results = sweep(cfg, study.seed, study.device, progress)
    summary = {
        "data": cfg.data,
        "data_description": description,
        "shots": cfg.shots,
        "by_k": {
            str(k): {"qpca": [_run_summary(r) for r in e["runs"]], "classical_baselines": e["baselines"]}
            for k, e in results.items()
        },
    }
    first = next(iter(results.values()))["runs"][0]
    notes = [
        first["label"] + ".",
        "Copies of rho per QPE run grow as 4^bits / Tr(rho^2) (DME bound of Go et al., arXiv 2412.02134); QPE runs "
        "include tomography runs post-selected on the eigenvalue bin. Projected QPU times use qscale.energy.qpu "
        "with DME depth only (no data loading, no error correction): a lower bound.",
        "Classical baselines ran on this machine (measured wall time); simulation time is not a quantum speed.",
    ]
    return StageOutput(
        name="qpca",
        title="Quantum PCA of embeddings",
        summary=summary,
        figures=[quality_plot(results, cfg.data)],
        tables=[Table("qPCA beside classical PCA (same data, same k)", TABLE_HEADERS, table_rows(results))],
        notes=notes,
    )


STAGE = Stage("qpca", QPCAStage, run)
