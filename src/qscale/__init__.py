"""qscale: quantum algorithms on real LLM workloads, beside classical baselines, with energy accounting."""

__version__ = "0.1.0"
