"""Circuits on a device: transpile to its target, report what that did, and simulate only the qubits used.

Why compact: an IBM snapshot has 127-156 qubits. Aer drops idle qubits itself, but it still converts the
whole device's noise model on every run (about 15 s for Fez on this machine), so a loop of small jobs
would spend its time there. After transpiling on the full device (so layout and routing see the real
coupling map and error rates), the circuit is rewritten on just the physical qubits it touches, and the
noise model is built from the same snapshot restricted to those qubits: the same Aer recipe as
`NoiseModel.from_backend` (depolarizing gate error combined with thermal relaxation over the gate's
duration, and readout error), entry for entry on the qubits concerned. A test runs the full-width
circuit under `NoiseModel.from_backend` and checks the two agree within shot noise. As with
`from_backend`, idle qubits decohere only during explicit delays, which unscheduled circuits do not have.

The device report: transpiled depth, two-qubit gate count, and an estimated fidelity, the product of
(1 - error) over every gate and measurement of the transpiled circuit, errors from the snapshot's target.
It leaves out idle decoherence and crosstalk, so it is an optimistic estimate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DENSITY_MATRIX_MAX_QUBITS = 12  # above this Aer samples trajectories (with shot branching) instead
_IGNORED = frozenset({"barrier", "delay"})


@dataclass(frozen=True)
class DeviceReport:
    """What the device (or its transpiler) did to one circuit."""

    qubits: int  # logical width
    active_qubits: int  # physical qubits touched after layout and routing
    transpiled_depth: int
    transpiled_two_qubit_gates: int
    transpiled_gates: int
    estimated_fidelity: float | None  # None where the device publishes no error rates
    physical_qubits: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["physical_qubits"] = list(self.physical_qubits)
        return out


def active_qubits(tq) -> list[int]:
    """Physical qubits an instruction (other than a barrier or delay) touches, sorted."""
    used = {tq.find_bit(q).index for inst in tq.data if inst.operation.name not in _IGNORED for q in inst.qubits}
    return sorted(used)


def _error(target, name: str, qargs: tuple[int, ...]) -> float:
    if target is None or name not in target.operation_names:
        return 0.0
    props = target[name]
    if props is None:
        return 0.0
    prop = props.get(qargs) or props.get(None)
    if prop is None or prop.error is None:
        return 0.0
    return float(prop.error)


def estimated_fidelity(tq, target) -> float:
    """Product of (1 - error) over the circuit's gates and measurements (errors from the target)."""
    log_f = 0.0
    for inst in tq.data:
        name = inst.operation.name
        if name in _IGNORED:
            continue
        err = _error(target, name, tuple(tq.find_bit(q).index for q in inst.qubits))
        if err >= 1.0:
            return 0.0
        log_f += np.log1p(-err)
    return float(np.exp(log_f))


def report(qc, tq, target=None, has_errors: bool = True) -> DeviceReport:
    """The report of logical circuit `qc` transpiled to `tq` (tq = qc for simulators that take it as is)."""
    gates = [i for i in tq.data if i.operation.name not in _IGNORED]
    two_qubit = sum(1 for i in gates if len(i.qubits) == 2 and i.operation.name != "measure")
    used = active_qubits(tq)
    return DeviceReport(
        qubits=qc.num_qubits,
        active_qubits=len(used),
        transpiled_depth=int(tq.depth(lambda inst: inst.operation.name not in _IGNORED)),
        transpiled_two_qubit_gates=two_qubit,
        transpiled_gates=len(gates),
        estimated_fidelity=estimated_fidelity(tq, target) if has_errors else None,
        physical_qubits=tuple(used) if tq is not qc else (),
    )


def transpile_to(qc, backend, seed: int, optimization_level: int):
    """Qiskit's preset pass manager for the device, with a fixed layout/routing seed."""
    from qiskit.transpiler import generate_preset_pass_manager

    pm = generate_preset_pass_manager(optimization_level=optimization_level, backend=backend, seed_transpiler=seed)
    return pm.run(qc)


def compact(tq, physical: list[int]):
    """`tq` rewritten on len(physical) qubits (physical[i] -> i), same classical registers and bits."""
    from qiskit import QuantumCircuit, QuantumRegister

    pos = {q: i for i, q in enumerate(physical)}
    out = QuantumCircuit(QuantumRegister(len(physical), "q"), *tq.cregs)
    extra = [c for c in tq.clbits if not tq.find_bit(c).registers]
    if extra:
        out.add_bits(extra)
    for inst in tq.data:
        if inst.operation.name in _IGNORED:
            continue
        out.append(inst.operation, [out.qubits[pos[tq.find_bit(q).index]] for q in inst.qubits], list(inst.clbits))
    return out


def restricted_target(target, physical: list[int]):
    """The device target on `physical` qubits only, renumbered 0..k-1, keeping every error and duration."""
    from qiskit.transpiler import Target

    pos = {q: i for i, q in enumerate(physical)}
    props = target.qubit_properties
    small = Target(
        num_qubits=len(physical),
        dt=target.dt,
        qubit_properties=[props[q] for q in physical] if props else None,
    )
    for name in target.operation_names:
        op = target.operation_from_name(name)
        inst_props = target[name]
        if inst_props is None or not hasattr(op, "num_qubits"):
            continue
        sub = {
            tuple(pos[q] for q in qargs): p
            for qargs, p in inst_props.items()
            if qargs is not None and all(q in pos for q in qargs)
        }
        if sub:
            small.add_instruction(op, sub, name=name)
    return small


def noise_model(target, physical: list[int], basis_gates: list[str]):
    """Aer's `from_backend` noise recipe on the restricted target (readout, then gate errors)."""
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.noise.device import basic_device_gate_errors, basic_device_readout_errors

    small = restricted_target(target, physical)
    model = NoiseModel(basis_gates=basis_gates)
    for qubits, error in basic_device_readout_errors(target=small):
        model.add_readout_error(error, qubits)
    for name, qubits, error in basic_device_gate_errors(target=small):
        model.add_quantum_error(error, name, qubits)
    return model


def aer_options(noise, k: int) -> dict:
    """AerSimulator options: density matrix for small circuits (cost independent of shots), else trajectories."""
    if k <= DENSITY_MATRIX_MAX_QUBITS:
        return {"noise_model": noise, "method": "density_matrix"}
    return {"noise_model": noise, "method": "statevector", "shot_branching_enable": True}
