"""Quantum PCA (simulated DME + phase estimation + tomography) beside classical PCA baselines.

The package holds only the defaults shown in `qscale qpca`'s options, so that `qscale --help` imports no numpy;
the estimator, circuit, resource model and driver are its submodules.
"""

DEFAULT_BITS = 10  # phase-estimation bits (schedule)
DEFAULT_SHOTS = 100_000  # QPE runs for eigenvalue sampling, and shots per tomography setting (schedule)
DEFAULT_TANG_SAMPLES = 400  # row and column samples of the l2-sampling baseline (baselines)
