#!/usr/bin/env bash
# Creates the isolated virtual environments of the peer simulators, never touching the project's .venv:
#   .bench-venvs/peers : qiskit-aer and PennyLane lightning.qubit (exact pins in requirements-peers.txt)
#   .bench-venvs/qokit : QOKit, which pins exact numpy/numba/qiskit versions of its own
#   .bench-venvs/torchquantum : TorchQuantum 0.1.8 (benchmarks/qnn_layer.py); its wheel declares qiskit<1,
#     tensorflow, pyscf, torchvision, ...: it goes in with --no-deps beside what `import torchquantum` needs
#     (requirements-torchquantum.txt); torchvision is left out (PyPI's wheels need CUDA torch) and the
#     benchmark worker stubs the dataset-only import
#   .bench-venvs/llmcompressor : llmcompressor 0.14 (reference GPTQ for benchmarks/quant_reference.py); it pins
#     an older transformers than the project, with the CPU build of torch
# QOKit's PyPI wheel ships its C simulator as a setuptools extension that qokit.fur never finds
# (it looks for qokit/fur/c/csim/libcsim.so), so its fastest CPU backend ("c") would be silently off.
# We build libcsim.so from the C sources in the installed package with OpenMP, as QOKit's own makefile does
# (plus -O3 -march=native), so QOKit is measured at its best on this machine.
# Usage: benchmarks/setup_peers.sh [peers|qokit|torchquantum|llmcompressor|all]   (idempotent: a finished venv is left alone)
set -euo pipefail
cd "$(dirname "$0")/.."
HERE=benchmarks
VENVS=.bench-venvs
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
WHICH=${1:-all}
mkdir -p "$VENVS"

up_to_date() {  # name requirements-file
  [[ -f $VENVS/$1/.installed-stamp && ! $VENVS/$1/.installed-stamp -ot $2 ]]
}

make_venv() {  # name requirements-file
  local dir=$VENVS/$1
  echo "[setup_peers] $1: creating $dir" >&2
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$2"
}

build_qokit_c() {
  local dir=$VENVS/qokit
  local csim
  csim=$("$dir/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("qokit")
print(pathlib.Path(spec.origin).parent / "fur" / "c" / "csim")
PY
)
  local src=$csim/src
  if ! command -v "${CC:-gcc}" >/dev/null; then
    echo "[setup_peers] qokit: no C compiler; QOKit will fall back to its numba 'python' backend" >&2
    return 0
  fi
  # QOKit's headers are not in the wheel/sdist; they only declare the functions, so compile the three
  # sources as one translation unit (each function is defined before use) with empty stand-in headers.
  local tmp
  tmp=$(mktemp -d)
  touch "$tmp/fur.h" "$tmp/diagonal.h" "$tmp/qaoa_fur.h"
  cat "$src/diagonal.c" "$src/fur.c" "$src/qaoa_fur.c" > "$tmp/csim_all.c"
  "${CC:-gcc}" -O3 -march=native -fopenmp -fPIC -shared -include stddef.h -I"$tmp" \
    "$tmp/csim_all.c" -o "$csim/libcsim.so" -lm
  rm -rf "$tmp"
  echo "[setup_peers] qokit: built $csim/libcsim.so (gcc -O3 -march=native -fopenmp)" >&2
}

for name in peers qokit torchquantum llmcompressor; do
  [[ $WHICH == all || $WHICH == "$name" ]] || continue
  req=$HERE/requirements-$name.txt
  if up_to_date "$name" "$req"; then
    echo "[setup_peers] $name: up to date" >&2
    continue
  fi
  make_venv "$name" "$req"
  [[ $name == qokit ]] && build_qokit_c
  if [[ $name == torchquantum ]]; then
    "$VENVS/$name/bin/python" -m pip install -q --disable-pip-version-check --no-deps torchquantum==0.1.8
  fi
  touch "$VENVS/$name/.installed-stamp"
done
