"""The trained Born machine's samples drawn on a named backend, scored beside the noiseless model.

With `--backend`, training already took its shots on the backend (BornMachine's sampled path); here the
trained circuit is sampled `samples` times on the backend as well, so the reported quality is what that
device would give: the valid fraction of its samples (bars-and-stripes) and the total-variation distance of
their histogram from the noiseless model distribution and from the target.
"""

from __future__ import annotations

import numpy as np

from qscale.algorithms.generative.data import GenerativeDataset, histogram
from qscale.algorithms.generative.metrics import valid_fraction


def backend_scores(bm, ds: GenerativeDataset, samples: int, p_exact: np.ndarray) -> dict:
    """Keys for the `qscale born` JSON: the backend's draws of the trained circuit against exact figures."""
    drawn = bm.executor_.sample(bm.circuit_, np.atleast_2d(bm.params_), samples)[0]
    h = histogram(drawn, ds.n_bits)
    summary = bm.executor_.device_summary()
    out = {
        "backend": summary,
        "tvd_backend_to_model": 0.5 * float(np.abs(h - p_exact).sum()),
        "tvd_backend_to_target": 0.5 * float(np.abs(h - ds.target).sum()),
        "tvd_model_to_target": 0.5 * float(np.abs(p_exact - ds.target).sum()),
        "valid_fraction_backend": valid_fraction(drawn, ds.valid) if ds.valid is not None else None,
        "transpiled_depth": summary.get("transpiled_depth_max"),
        "transpiled_two_qubit_gates": summary.get("transpiled_two_qubit_gates_max"),
        "estimated_fidelity": summary.get("estimated_fidelity_min"),
        "backend_note": "training took its shots on the backend; kl, heldout_nll and valid_fraction are the "
        "trained circuit's noiseless figures; *_backend and tvd_backend_* come from `samples` draws on the backend",
    }
    return out
