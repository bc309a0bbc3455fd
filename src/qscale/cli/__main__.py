"""`python -m qscale.cli`: the same app as the `qscale` console script."""

from qscale.cli import main

main()
