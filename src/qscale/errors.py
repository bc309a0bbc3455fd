"""Error types that decide the CLI's exit code (docs/design.md contracts: 2 = user error, 1 = internal)."""


class QscaleUserError(ValueError):
    """Bad input from the user: the CLI prints the one-line message and exits with code 2."""
