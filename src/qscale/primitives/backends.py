"""Backend names -> Qiskit V2 primitives, for every qscale algorithm that runs circuits (`--backend NAME`).

Names:
* `exact`: qscale's own simulator (the default; algorithms keep their fast in-process engines for it, and
  `Backend` here wraps qscale's `Sampler`/`Estimator` for code that wants a primitive).
* `aer`: qiskit-aer, noiseless (its V2 `SamplerV2`).
* `fake_<device>`: qiskit-aer with the noise of an IBM device snapshot from `qiskit_ibm_runtime.fake_provider`
  (fake_fez, fake_marrakesh, fake_kingston, fake_torino, ...; `available_backends()` lists them). Circuits are
  transpiled to the device's coupling map and basis gates with a fixed `seed_transpiler`, then simulated on the
  qubits they use (see `qscale.primitives.targets`).
* `module:callable`: a Python entry point called with no arguments. It may return a `BaseSamplerV2`, a
  `BaseEstimatorV2`, a Qiskit `BackendV2` (wrapped in `BackendSamplerV2`, circuits transpiled to its target),
  or a tuple of these. This is how a user plugs in qiskit-ibm-runtime with an account, or another vendor's
  primitive; `qscale.primitives.examples:generic_backend` is a local example (Qiskit's `GenericBackendV2`).

Every circuit a backend runs leaves a `DeviceReport` (transpiled depth, two-qubit gates, estimated fidelity).
Indices returned by `sample` are integers over the classical bits (bit c = clbit c), the convention of
qscale's simulator when circuits measure qubit q into clbit q (`measure_all`).
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.primitives import targets

DEFAULT_OPTIMIZATION_LEVEL = 3
_NOT_DEVICES = ("FakeProviderForBackendV2", "FakeFractionalBackend")


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


@cache
def fake_devices() -> dict[str, type]:
    """fake_<device> -> snapshot class, from the fake provider that ships with qiskit-ibm-runtime."""
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    out = {}
    for attr in dir(fake_provider):
        cls = getattr(fake_provider, attr)
        if not (attr.startswith("Fake") and inspect.isclass(cls) and issubclass(cls, FakeBackendV2)):
            continue
        if attr in _NOT_DEVICES:
            continue
        stem = attr[len("Fake") :]
        stem = stem[:-2] if stem.endswith("V2") else stem
        out["fake_" + _snake(stem)] = cls
    return dict(sorted(out.items()))


def available_backends() -> list[str]:
    """Every name `resolve_backend` accepts, with `module:callable` as the pattern it is."""
    return ["exact", "aer", *fake_devices(), "module:callable"]


def check_shots(shots: object, what: str = "--shots") -> int:
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise QscaleUserError(f"{what} must be a positive integer, got {shots!r}")
    return int(shots)


def bit_integers(pub_result, circuit) -> np.ndarray:
    """(..., shots) int64 over the circuit's classical bits (bit c = clbit c) from a SamplerPubResult."""
    out = None
    for reg in circuit.cregs:
        bits = getattr(pub_result.data, reg.name).to_bool_array(order="little")  # (..., shots, len(reg))
        if out is None:
            out = np.zeros(bits.shape[:-1], dtype=np.int64)
        for j, clbit in enumerate(reg):
            out |= bits[..., j].astype(np.int64) << circuit.find_bit(clbit).index
    if out is None:
        raise QscaleUserError("the circuit has no classical register to sample into: add measurements")
    return out


class Backend:
    """A named execution target: prepares circuits for the device, samples them, estimates observables."""

    kind = "base"
    noisy = False

    def __init__(self, name: str, seed: int = 0, optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL):
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise QscaleUserError(f"seed must be a non-negative integer, got {seed!r}")
        self.name = name
        self.seed = int(seed)
        self.optimization_level = optimization_level
        self.rng = np.random.default_rng(seed)
        self._prepared: dict[int, tuple[Any, Any, targets.DeviceReport]] = {}  # id(qc) -> (qc, runnable, report)
        self.circuits_run = 0
        self.shots_run = 0

    # -- description ------------------------------------------------------------------------
    max_qubits: int | None = None

    @property
    def description(self) -> str:
        return self.name

    def check_width(self, n_qubits: int) -> None:
        """A user error naming both widths when a circuit does not fit the device."""
        if self.max_qubits is not None and n_qubits > self.max_qubits:
            raise QscaleUserError(
                f"circuit is {n_qubits} qubits wide but backend {self.name} has {self.max_qubits} qubits"
            )

    # -- preparation ------------------------------------------------------------------------
    def _prepare(self, qc) -> tuple[Any, targets.DeviceReport]:
        """(what the sampler runs, report); simulators run the logical circuit as it is."""
        return qc, targets.report(qc, qc)

    def prepare(self, qc) -> tuple[Any, targets.DeviceReport]:
        self.check_width(qc.num_qubits)
        key = id(qc)
        if key not in self._prepared:  # the entry keeps qc alive, so its id is not reused
            runnable, rep = self._prepare(qc)
            self._prepared[key] = (qc, runnable, rep)
        return self._prepared[key][1], self._prepared[key][2]

    def report(self, qc) -> targets.DeviceReport:
        return self.prepare(qc)[1]

    def summary(self) -> dict:
        """The backend and what it did to the circuits it ran (worst case over circuits where several)."""
        reps = [r for _, _, r in self._prepared.values()]
        out: dict[str, Any] = {"name": self.name, "description": self.description, "noisy": self.noisy,
                               "circuits_prepared": len(reps), "circuits_run": self.circuits_run,
                               "shots_run": self.shots_run}
        if self.kind in ("fake", "entry"):
            out["seed_transpiler"] = self.seed
            out["optimization_level"] = self.optimization_level
        if reps:
            fids = [r.estimated_fidelity for r in reps if r.estimated_fidelity is not None]
            out["transpiled_depth_max"] = max(r.transpiled_depth for r in reps)
            out["transpiled_two_qubit_gates_max"] = max(r.transpiled_two_qubit_gates for r in reps)
            out["transpiled_two_qubit_gates_mean"] = float(np.mean([r.transpiled_two_qubit_gates for r in reps]))
            out["estimated_fidelity_min"] = min(fids) if fids else None
            out["estimated_fidelity_mean"] = float(np.mean(fids)) if fids else None
        return out

    # -- execution --------------------------------------------------------------------------
    def _values(self, qc, runnable, values: np.ndarray | None) -> np.ndarray | None:
        """Parameter rows reordered from qc.parameters to runnable.parameters (transpiling may drop some)."""
        if not qc.parameters:
            return None
        if values is None:
            raise QscaleUserError(f"circuit has {len(qc.parameters)} parameters but no values were given")
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        if values.shape[-1] != len(qc.parameters):
            raise QscaleUserError(f"circuit has {len(qc.parameters)} parameters, got {values.shape[-1]} values per set")
        col = {p: i for i, p in enumerate(qc.parameters)}
        return values[:, [col[p] for p in runnable.parameters]]

    def _run_sampler(self, sampler_pubs: list, shots: int) -> list:
        raise NotImplementedError

    def sample(self, pubs: Sequence[tuple[Any, np.ndarray | None]], shots: int) -> list[np.ndarray]:
        """Per PUB (circuit with measurements, parameter rows (B, P) or None): outcomes (B, shots) int64."""
        shots = check_shots(shots, "shots")
        prepared, sampler_pubs = [], []
        for qc, values in pubs:
            runnable, rep = self.prepare(qc)
            rows = self._values(qc, runnable, values)
            prepared.append((runnable, 1 if rows is None else rows.shape[0], rep))
            sampler_pubs.append((runnable,) if rows is None else (runnable, rows))  # (B, 0) rows keep shape B
        results = self._run_sampler_batches(prepared, sampler_pubs, shots)
        out = []
        for (runnable, batch, _), res in zip(prepared, results, strict=True):
            ints = bit_integers(res, runnable)
            out.append(ints.reshape(batch, shots))
            self.circuits_run += batch
            self.shots_run += batch * shots
        return out

    def _run_sampler_batches(self, prepared: list, sampler_pubs: list, shots: int) -> list:
        return self._run_sampler(sampler_pubs, shots)

    def expectations(self, circuits: Sequence[Any], observables: Sequence[Sequence[Any]], shots: int) -> np.ndarray:
        """(C, M) estimates of <O_m> for each circuit (no measurements) from `shots` per measured basis."""
        from qscale.primitives.measure import sampled_expectations

        return sampled_expectations(self, circuits, observables, shots)


class ExactBackend(Backend):
    """qscale's simulator through its own V2 Sampler and Estimator."""

    kind = "exact"

    @property
    def description(self) -> str:
        return "qscale state-vector simulator (exact, noiseless)"

    def _run_sampler(self, sampler_pubs: list, shots: int) -> list:
        from qscale.primitives.sampler import Sampler

        return list(Sampler(seed=self.rng).run(sampler_pubs, shots=shots).result())

    def expectations(self, circuits: Sequence[Any], observables: Sequence[Sequence[Any]], shots: int) -> np.ndarray:
        from qscale.primitives.estimator import Estimator

        est = Estimator(seed=self.rng, noise="shots")
        precision = 1.0 / math.sqrt(shots) if shots else 0.0
        for qc in circuits:
            self.prepare(qc)
        res = est.run([(qc, list(obs)) for qc, obs in zip(circuits, observables, strict=True)],
                      precision=precision).result()
        self.circuits_run += len(circuits)
        self.shots_run += sum(r.metadata.get("shots", 0) for r in res)
        return np.stack([r.data.evs for r in res])


class AerBackend(Backend):
    """qiskit-aer's noiseless V2 sampler."""

    kind = "aer"

    def __init__(self, name: str = "aer", seed: int = 0, optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL):
        super().__init__(name, seed, optimization_level)
        from qiskit_aer import AerSimulator

        self.max_qubits = AerSimulator().num_qubits

    @property
    def description(self) -> str:
        import qiskit_aer

        return f"qiskit-aer {qiskit_aer.__version__} SamplerV2, noiseless"

    def _run_sampler(self, sampler_pubs: list, shots: int) -> list:
        from qiskit_aer.primitives import SamplerV2

        seed = int(self.rng.integers(2**31))
        return list(SamplerV2(seed=seed).run(sampler_pubs, shots=shots).result())


class FakeDeviceBackend(Backend):
    """qiskit-aer with an IBM snapshot's noise, on the qubits each transpiled circuit uses."""

    kind = "fake"
    noisy = True

    def __init__(self, name: str, seed: int = 0, optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL):
        super().__init__(name, seed, optimization_level)
        self.device = fake_devices()[name]()
        self.max_qubits = self.device.num_qubits
        self._noise: dict[tuple[int, ...], Any] = {}

    @property
    def description(self) -> str:
        import qiskit_ibm_runtime

        return (f"qiskit-aer with the noise of {type(self.device).__name__} ({self.device.num_qubits} qubits, "
                f"qiskit-ibm-runtime {qiskit_ibm_runtime.__version__} snapshot)")

    def transpile(self, qc):
        """The full-width transpiled circuit (what a test runs under `NoiseModel.from_backend` directly)."""
        return targets.transpile_to(qc, self.device, self.seed, self.optimization_level)

    def _prepare(self, qc):
        tq = self.transpile(qc)
        physical = targets.active_qubits(tq)
        return targets.compact(tq, physical), targets.report(qc, tq, self.device.target)

    def noise_for(self, physical: tuple[int, ...]):
        if physical not in self._noise:
            self._noise[physical] = targets.noise_model(self.device.target, list(physical),
                                                        list(self.device.operation_names))
        return self._noise[physical]

    def _run_sampler_batches(self, prepared: list, sampler_pubs: list, shots: int) -> list:
        """One Aer sampler per set of physical qubits (each has its own restricted noise model)."""
        from qiskit_aer.primitives import SamplerV2

        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (_, _, rep) in enumerate(prepared):
            groups.setdefault(rep.physical_qubits, []).append(i)
        results: list = [None] * len(prepared)
        for physical, members in groups.items():
            opts = targets.aer_options(self.noise_for(physical), len(physical))
            sampler = SamplerV2(seed=int(self.rng.integers(2**31)), options={"backend_options": opts})
            for i, res in zip(members, sampler.run([sampler_pubs[i] for i in members], shots=shots).result(),
                              strict=True):
                results[i] = res
        return results


class EntryPointBackend(Backend):
    """Whatever a `module:callable` entry point returned: a sampler, an estimator, a BackendV2, or a tuple."""

    kind = "entry"

    def __init__(self, name: str, seed: int = 0, optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL):
        super().__init__(name, seed, optimization_level)
        from qiskit.primitives import BackendSamplerV2, BaseEstimatorV2, BaseSamplerV2
        from qiskit.providers import BackendV2

        made = _call_entry_point(name)
        parts = made if isinstance(made, tuple | list) else (made,)
        self.sampler = self.estimator = self.device = None
        for part in parts:
            if isinstance(part, BaseSamplerV2):
                self.sampler = part
            elif isinstance(part, BaseEstimatorV2):
                self.estimator = part
            elif isinstance(part, BackendV2):
                self.device = part
            else:
                raise QscaleUserError(
                    f"entry point {name} returned {type(part).__name__}; it must return a BaseSamplerV2, a "
                    "BaseEstimatorV2, a qiskit BackendV2, or a tuple of these"
                )
        if self.device is not None:
            self.max_qubits = self.device.num_qubits
            self.noisy = _has_errors(self.device.target)
            if self.sampler is None:
                self.sampler = BackendSamplerV2(backend=self.device, options={"seed_simulator": seed})

    @property
    def description(self) -> str:
        parts = [type(p).__name__ for p in (self.sampler, self.estimator, self.device) if p is not None]
        return f"entry point {self.name} ({', '.join(parts)})"

    def _prepare(self, qc):
        if self.device is None:  # a bare primitive: it takes the circuit as it is
            return qc, targets.report(qc, qc, has_errors=False)
        tq = targets.transpile_to(qc, self.device, self.seed, self.optimization_level)
        return tq, targets.report(qc, tq, self.device.target, has_errors=self.noisy)

    def _run_sampler(self, sampler_pubs: list, shots: int) -> list:
        if self.sampler is None:
            raise QscaleUserError(f"entry point {self.name} gave an estimator only; this algorithm needs a sampler")
        return list(self.sampler.run(sampler_pubs, shots=shots).result())

    def expectations(self, circuits: Sequence[Any], observables: Sequence[Sequence[Any]], shots: int) -> np.ndarray:
        if self.estimator is None or self.device is not None:
            return super().expectations(circuits, observables, shots)
        res = self.estimator.run([(qc, list(obs)) for qc, obs in zip(circuits, observables, strict=True)],
                                 precision=1.0 / math.sqrt(shots)).result()
        for qc in circuits:
            self.prepare(qc)
        self.circuits_run += len(circuits)
        return np.stack([np.asarray(r.data.evs, dtype=float) for r in res])


def _has_errors(target) -> bool:
    for name in target.operation_names:
        props = target[name]
        if props and any(p is not None and p.error for p in props.values()):
            return True
    return False


def _call_entry_point(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise QscaleUserError(f"entry point {spec!r} must be written module:callable")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any failure while importing user code is the user's to fix
        raise QscaleUserError(f"entry point {spec} failed to import module {module_name}: "
                              f"{type(exc).__name__}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise QscaleUserError(f"entry point {spec}: module {module_name} has no attribute {attr}")
        target = getattr(target, part)
    if not callable(target):
        raise QscaleUserError(f"entry point {spec} is not callable")
    try:
        return target()
    except Exception as exc:
        raise QscaleUserError(f"entry point {spec} raised {type(exc).__name__}: {exc}") from None


def _unknown(name: str) -> QscaleUserError:
    fakes = ", ".join(fake_devices())
    return QscaleUserError(
        f"unknown backend {name!r}: available are exact, aer, fake_<device> ({fakes}) and module:callable"
    )


def resolve_backend(name: str, seed: int = 0, optimization_level: int = DEFAULT_OPTIMIZATION_LEVEL) -> Backend:
    """The Backend for a --backend NAME (see the module docstring); unknown names list the available ones."""
    if not isinstance(name, str) or not name.strip():
        raise _unknown(str(name))
    name = name.strip()
    if name == "exact":
        return ExactBackend(name, seed, optimization_level)
    if name == "aer":
        return AerBackend(name, seed, optimization_level)
    if ":" in name:
        return EntryPointBackend(name, seed, optimization_level)
    if name.startswith("fake_") and name in fake_devices():
        return FakeDeviceBackend(name, seed, optimization_level)
    raise _unknown(name)


def check_backend_name(name: str) -> None:
    """Cheap validation of a name before any work starts (entry points are imported later, when resolved)."""
    if not isinstance(name, str) or not name.strip():
        raise _unknown(str(name))
    name = name.strip()
    if name in ("exact", "aer") or ":" in name or name in fake_devices():
        return
    raise _unknown(name)
