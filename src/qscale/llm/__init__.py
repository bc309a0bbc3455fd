"""LLM workloads: model and text loading, perplexity, and weight quantization (rtn, gptq, qubo).

Heavy imports (transformers, sentence-transformers) happen inside the functions that need them,
so importing qscale.llm stays cheap for the CLI.
"""
