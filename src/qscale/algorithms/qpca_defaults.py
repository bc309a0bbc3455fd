"""qPCA defaults shown in `qscale qpca`'s options, kept apart from the numpy modules so `qscale --help` stays light."""

DEFAULT_BITS = 10  # phase-estimation bits (qpca_schedule)
DEFAULT_SHOTS = 100_000  # QPE runs for eigenvalue sampling, and shots per tomography setting (qpca_schedule)
DEFAULT_TANG_SAMPLES = 400  # row and column samples of the l2-sampling baseline (qpca_baselines)
