"""2030s/2040s outlook: a Monte Carlo over sourced ranges for campus energy, cost and carbon, and for whether a
quantum co-processor would save energy on each of qscale's quantum tasks.

The package holds only the default projection years, so that registering the CLI command stays cheap:
`run_outlook` is in outlook.model and `load_scenarios` in outlook.scenarios.
"""

DEFAULT_YEARS = (2030, 2035, 2040, 2045)
