"""`qscale.primitives.Sampler`: Qiskit's `BaseSamplerV2` on qscale's state-vector simulator.

Any Qiskit program that takes a sampler can use qscale as its simulator:

    from qscale.primitives import Sampler
    result = Sampler(seed=7).run([(circuit, parameter_values)], shots=1000).result()
    counts = result[0].data.meas.get_counts()

Semantics follow Qiskit's `StatevectorSampler`: one `BitArray` per classical register, shaped like the
PUB's parameter bindings; bits never measured read 0; only final measurements are allowed. Sampling is
exact from |ψ|² of each bound circuit, drawn with a numpy Generator (an int seed restarts at every `run`,
a Generator continues its stream).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from qiskit.primitives import BaseSamplerV2

from qscale.errors import QscaleUserError
from qscale.primitives._common import SeededPrimitive, binding_rows, check_seed, from_qiskit, states
from qscale.quantum.statevector import sample


def _check_shots(shots: object) -> int:
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise QscaleUserError(f"shots must be a positive integer, got {shots!r}")
    return int(shots)


class Sampler(SeededPrimitive, BaseSamplerV2):
    """Seeded shot sampling of Qiskit circuits (PUBs with parameter broadcasting) on qscale's simulator."""

    def __init__(self, *, default_shots: int = 1024, seed: np.random.Generator | int | None = None) -> None:
        self._default_shots = _check_shots(default_shots)
        check_seed(seed)
        self._seed = seed

    @property
    def default_shots(self) -> int:
        return self._default_shots

    def run(self, pubs: Iterable, *, shots: int | None = None):
        shots = self._default_shots if shots is None else _check_shots(shots)
        return self._submit(pubs, shots, "shots")

    def _coerce(self, pub, shots: int):
        from qiskit.primitives.containers.sampler_pub import SamplerPub

        return SamplerPub.coerce(pub, shots)

    def _check(self, shots: object) -> int:
        return _check_shots(shots)

    def _run_pub(self, pub, rng: np.random.Generator):
        from qiskit.primitives.containers import BitArray, DataBin, SamplerPubResult

        conv = from_qiskit(pub.circuit)
        shape = tuple(pub.shape)
        rows = binding_rows(conv, pub.parameter_values, shape)
        outcomes = np.empty((rows.shape[0], pub.shots), dtype=np.int64)
        for where, psi in states(conv, rows):
            outcomes[where] = conv.clbit_values(sample(psi, pub.shots, rng))
        outcomes = outcomes.reshape(*shape, pub.shots)
        data = {}
        for name, clbits in conv.registers:
            if clbits:
                bits = np.stack([(outcomes >> c) & 1 for c in clbits], axis=-1).astype(bool)
            else:
                bits = np.zeros((*shape, pub.shots, 0), dtype=bool)
            data[name] = BitArray.from_bool_array(bits, order="little")
        return SamplerPubResult(
            DataBin(**data, shape=shape), metadata={"shots": pub.shots, "circuit_metadata": pub.circuit.metadata}
        )
