"""The `qscale` command: one subcommand per stage, `--json` on each, exit 2 on user errors.

Contract: with --json exactly one JSON object goes to stdout; logs and progress go to stderr; exit code 0 on
success, 2 on a user error with a one-line reason, 1 on an internal error.

Each command group is one module of this package with a `register(app)` function; GROUPS lists them in the
order `qscale --help` shows their commands, so adding a group is one new module plus one entry here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from qscale.cli import energy, offload, outlook, qaoa, qnn, qpca, quantize, site, study, sweep, variational

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])


@app.callback()
def root(
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Also show INFO logs of Qiskit, Ray, PyPSA, ...")]
    = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only warnings and errors; no progress.")] = False,
) -> None:
    """Logging for every command (qscale.progress): one qscale logger on stderr, other libraries at WARNING."""
    from qscale.progress import configure

    configure(verbosity=1 if verbose and not quiet else -1 if quiet else 0)


GROUPS = (study, qaoa, quantize, site, qpca, variational, outlook, sweep, offload, energy, qnn)

for _group in GROUPS:
    _group.register(app)


def main() -> None:
    app()
