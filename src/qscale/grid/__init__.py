"""Energy infrastructure for the campus: capacity expansion on PyPSA (`run_site`) and power-swing smoothing.

Heavy imports (PyPSA, linopy) happen inside the functions that need them, so `import qscale.grid` is cheap.
"""
