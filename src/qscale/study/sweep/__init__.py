"""`qscale sweep`: grids of study runs as Ray tasks, resumable, with a table and a cross-cell report.

grid.py plans and validates the cells, store.py keeps their folders, runner.py runs them on Ray, table.py and
report.py merge them. The command itself is qscale.cli.sweep.
"""
