"""Ray as qscale's scale-out engine: a session on this machine by default, or on a running cluster by address.

Both `qscale sweep` (study cells) and `qscale outlook --parallel` (Monte Carlo chunks) go through here, so
they start, find and stop Ray the same way:

- no address: a fresh local Ray instance (`address="local"`, never a cluster that happens to run here) with
  one CPU per core, no dashboard and a small object store; it is shut down when the session ends, including
  on Ctrl-C or SIGTERM, so no Ray process outlives the command;
- an address (`auto` or HOST:PORT): first probed in a child process with short GCS timeouts, because
  `ray.init` on an address with no Ray behind it waits a minute or more, and on some answers aborts the whole
  process; an unreachable address is a user error naming it.

`ray` is imported inside the functions: importing it costs ~0.6 s, which commands that never use Ray (and
`qscale --help`) should not pay.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from qscale.errors import QscaleUserError

LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # cells hand back a few MB of files; Ray's default is 30 % of RAM
PROBE_TIMEOUT_S = 25.0  # wall-clock bound on the address check (the GCS timeouts below end it in ~10 s)
_PROBE_ENV = {
    "RAY_gcs_rpc_server_connect_timeout_s": "3",
    "RAY_gcs_rpc_server_reconnect_timeout_s": "3",
    "RAY_gcs_server_request_timeout_seconds": "5",
}
# Child process: resolve the address as ray.init would, then ask the GCS for its nodes. Prints the address.
_PROBE = """
import sys
from ray._private import services
import ray._raylet
address = services.canonicalize_bootstrap_address_or_die(sys.argv[1])
nodes = ray._raylet.GcsClient(address=address).get_all_node_info(timeout=5)
print(address)
"""


def check_address(address: str) -> str:
    """The `host:port` of the Ray cluster at `address` ("auto" = the one running here or $RAY_ADDRESS).

    Raises QscaleUserError naming the address when no cluster answers within about PROBE_TIMEOUT_S seconds.
    """
    if not address or not address.strip():
        raise QscaleUserError("--address is empty: give auto or HOST:PORT of a running Ray cluster")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, address],
            env=os.environ | _PROBE_ENV,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise QscaleUserError(f"no Ray cluster answered at {address} within {PROBE_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if re.match(r"^[\w.]+(Error|Exception): ", ln)]
        reason = errors[-1].split(": ", 1)[-1][:200] if errors else "no Ray GCS answered"
        raise QscaleUserError(f"cannot reach a Ray cluster at {address}: {reason}")
    return proc.stdout.strip().splitlines()[-1]


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handled like Ctrl-C: Ray's blocking calls turn KeyboardInterrupt (only) into a clean unwind."""
    raise KeyboardInterrupt


@contextmanager
def _sigterm_interrupts() -> Iterator[Callable[[], None]]:
    """SIGTERM raises KeyboardInterrupt inside the block, so the session's `finally` stops Ray (the CLI exits 130).

    Yields a function that installs the handler again: ray.init replaces it with one that exits at once.
    """

    def install() -> None:
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            signal.signal(signal.SIGTERM, _interrupt)

    previous = signal.getsignal(signal.SIGTERM)
    install()
    try:
        yield install
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, previous)


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None, probe: bool = True) -> Iterator[Any]:
    """`ray` initialised for the duration of the block; yields the `ray` module.

    probe=False: `address` already came from check_address. Inside a Ray worker (Ray already initialised) it
    reuses that connection and stops nothing.
    """
    import ray

    if ray.is_initialized():
        yield ray
        return
    target = None if address is None else check_address(address) if probe else address
    with _sigterm_interrupts() as reinstall:
        try:
            if target is None:
                ray.init(
                    address="local",
                    num_cpus=num_cpus or os.cpu_count(),
                    include_dashboard=False,
                    log_to_driver=False,
                    object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                    logging_level=logging.WARNING,
                )
            else:
                ray.init(address=target, log_to_driver=False, logging_level=logging.WARNING)
            reinstall()
            yield ray
        finally:
            ray.shutdown()  # also after an interrupted ray.init; a no-op when Ray never started


def ray_map(
    fn: Callable[..., Any], args: Sequence[tuple], address: str | None = None, num_cpus_per_task: float = 1
) -> list[Any]:
    """fn(*a) for each a in args as Ray tasks, results in the order of `args` (a drop-in for a serial map)."""
    with ray_session(address) as ray:
        remote = ray.remote(num_cpus=num_cpus_per_task, max_retries=1)(fn)
        return ray.get([remote.remote(*a) for a in args])


def node_ids_and_ips() -> dict[str, str]:
    """{node id: IP} of the cluster's live nodes (for reports of where work ran)."""
    import ray

    return {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")}
