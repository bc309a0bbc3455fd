"""Example `module:callable` entry points for `--backend`, runnable here without an account.

    qscale qaoa --nodes 6 --backend qscale.primitives.examples:generic_backend --json

An entry point is called with no arguments and returns a Qiskit `BaseSamplerV2`, a `BaseEstimatorV2`,
a `BackendV2` (qscale transpiles to its target and wraps it in `BackendSamplerV2`), or a tuple of these.
To use IBM hardware, write your own, e.g. returning `QiskitRuntimeService().backend("ibm_fez")`, or a
`qiskit_ibm_runtime.SamplerV2` in a session together with that backend (for its target).
"""

from __future__ import annotations


def generic_backend():
    """Qiskit's GenericBackendV2: 8 qubits, random but seeded error rates; runs on qiskit-aer with their noise."""
    from qiskit.providers.fake_provider import GenericBackendV2

    return GenericBackendV2(num_qubits=8, seed=42)


def qscale_primitives():
    """qscale's own Sampler and Estimator, seeded (the exact simulator reached through the entry-point path)."""
    from qscale.primitives import Estimator, Sampler

    return Sampler(seed=0), Estimator(seed=0, noise="shots")
