"""A sweep's cells: the study config crossed with `--grid KEY=V1,V2` axes, each cell validated and hashed.

Everything here runs before Ray starts, so every user error (unknown key, a value the schema refuses, an
empty grid) is found in well under a second and nothing is written.

Keys are `section.field` of the study config (`qaoa.nodes`, `study.seed`). Values are typed by that field:
`10` for an int, `true` for a bool, `rtn` for a choice; a list field takes `[1,2]` (commas inside brackets
do not split values) or a single item, which becomes a one-item list (`quantization.methods=rtn,gptq` gives
one cell with ["rtn"] and one with ["gptq"]); `none` clears an optional field.

A config file may carry the sweep's definition in a [sweep] table: `grid = {"quantization.bits" = [3, 4]}`,
`seeds = 3`, and `[[sweep.cases]]`, a list of override sets crossed with the grid as one more axis, for
variants that are not a product (`{"quantization.methods" = ["qubo-exact"], "quantization.refine" = 0}`).

With `--quick` the base config is shrunk first and the grid values are laid over it: a value the user
wrote in `--grid` wins over the shrinking (`--quick --grid qaoa.nodes=12` runs 12 nodes).

A cell's id is a hash of its whole resolved config, so the same cell has the same id whatever grid it came
from, and a re-run finds the cells that are already done.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from qscale.errors import QscaleUserError
from qscale.study.config import Strict
from qscale.study.schema import StudyConfig, parse_config

SEED_KEY = "study.seed"
ID_LENGTH = 12


class SweepSection(Strict):
    """The optional [sweep] table of a config file: a sweep definition kept beside its study config."""

    name: str | None = None
    grid: dict[str, Any] = Field(default_factory=dict)  # {"qaoa.nodes": [10, 12], ...}
    cases: list[dict[str, Any]] = Field(default_factory=list)  # override sets, crossed with the grid
    seeds: int | None = Field(None, ge=1)


CASES = "cases"


@dataclass(frozen=True)
class Axis:
    key: str  # a config key, or CASES: then each value is a {key: value} set of overrides
    values: tuple[Any, ...]  # typed, JSON-compatible


@dataclass
class Cell:
    id: str
    overrides: dict[str, Any]
    config: StudyConfig

    @property
    def label(self) -> str:
        return " ".join(f"{k}={json.dumps(v)}" for k, v in self.overrides.items())


@dataclass
class SweepPlan:
    name: str
    source: str
    quick: bool
    axes: list[Axis]
    cells: list[Cell]
    duplicates: int = 0  # grid points whose resolved config equals an earlier cell's
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """Every config key some cell overrides, in first-seen order."""
        return list(dict.fromkeys(k for c in self.cells for k in c.overrides))

    @property
    def varying(self) -> list[str]:
        """The keys whose value differs between cells."""
        return [k for k in self.keys if len({json.dumps(c.overrides.get(k)) for c in self.cells}) > 1]


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets: `1,[2,3],4` -> ['1', '[2,3]', '4']."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def parse_grid_option(text: str) -> tuple[str, list[str]]:
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise QscaleUserError(f"--grid {text!r}: expected KEY=V1,V2,... (e.g. qaoa.nodes=10,12)")
    items = split_values(values)
    if not values.strip() or any(not v for v in items):
        raise QscaleUserError(f"--grid {key}: empty value in {values!r}")
    return key, items


def _field(key: str) -> tuple[str, str, Any]:
    """(section, field name, FieldInfo) for a `section.field` key, or a user error naming the key."""
    section, _, name = key.partition(".")
    sections = StudyConfig.model_fields
    if section not in sections or not name or "." in name:
        raise QscaleUserError(f"--grid: unknown key '{key}' (keys are SECTION.FIELD; sections: {', '.join(sections)})")
    model = sections[section].annotation
    if name not in model.model_fields:
        raise QscaleUserError(f"--grid: unknown key '{key}' ({section} has: {', '.join(model.model_fields)})")
    return section, name, model.model_fields[name]


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) is list


def _allows_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


def coerce(key: str, raw: Any) -> Any:
    """One grid value, typed and checked by the schema field of `key`; returned in JSON form."""
    _, _, info = _field(key)
    annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter = TypeAdapter(annotation)
    value = raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.lower() in ("none", "null") and _allows_none(info.annotation):
            value = None
        elif _is_list(info.annotation) and text.startswith("["):
            try:
                value = tomllib.loads(f"v = {text}")["v"]
            except tomllib.TOMLDecodeError:
                items = split_values(text[1:-1]) if text.endswith("]") else [text]
                value = [i for i in items if i]
        else:
            value = text
    if _is_list(info.annotation) and value is not None and not isinstance(value, list):
        value = [value]
    try:
        typed = adapter.validate_python(value)
    except ValidationError as exc:
        raise QscaleUserError(f"--grid {key}={raw}: {exc.errors()[0]['msg']}") from None
    return adapter.dump_python(typed, mode="json")


def load_sweep_file(path: Path) -> tuple[dict, SweepSection]:
    """The study part of a config file (validated) as raw data, and its optional [sweep] table."""
    path = Path(path)
    if not path.is_file():
        raise QscaleUserError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise QscaleUserError(f"{path}: not valid TOML: {exc}") from None
    raw_sweep = data.pop("sweep", {})
    try:
        sweep = SweepSection.model_validate(raw_sweep)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise QscaleUserError(f"{path}: [sweep] {where}: {err['msg']}") from None
    parse_config(data, str(path))  # the base config alone must be valid
    return data, sweep


def cell_id(config: StudyConfig) -> str:
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:ID_LENGTH]


def _absolute_paths(config: StudyConfig) -> StudyConfig:
    """Relative file paths resolved against this directory: a cell may run in another process or node."""
    update = {}
    for section in type(config).model_fields:
        part = getattr(config, section)
        paths = {k: v.resolve() for k, v in part if isinstance(v, Path) and not v.is_absolute()}
        if paths:
            update[section] = part.model_copy(update=paths)
    return config.model_copy(update=update) if update else config


def build_plan(config_path: Path, grid: list[str], seeds: int | None, quick: bool) -> SweepPlan:
    """Every cell of the sweep, validated; raises QscaleUserError (nothing run, nothing written) on bad input."""
    data, sweep = load_sweep_file(config_path)
    axes_raw: dict[str, list[Any]] = {}
    for key, values in sweep.grid.items():
        axes_raw[key] = values if isinstance(values, list) else [values]
    for option in grid:
        key, values = parse_grid_option(option)
        axes_raw[key] = values  # the command line replaces the file's axis for the same key
    if seeds is None:
        seeds = sweep.seeds
    if seeds is not None:
        if seeds < 1:
            raise QscaleUserError(f"--seeds must be >= 1, got {seeds}")
        if SEED_KEY in axes_raw:
            raise QscaleUserError(f"give --seeds or a grid over {SEED_KEY}, not both")
        first = parse_config(data, str(config_path)).study.seed
        axes_raw[SEED_KEY] = list(range(first, first + seeds))
    if not axes_raw and not sweep.cases:
        raise QscaleUserError("empty grid: give at least one --grid KEY=V1,V2,... or --seeds N")

    axes = []
    for key, values in axes_raw.items():
        if not values:
            raise QscaleUserError(f"--grid {key}: no values")
        typed = [coerce(key, v) for v in values]
        unique = [v for i, v in enumerate(typed) if v not in typed[:i]]
        axes.append(Axis(key, tuple(unique)))
    if sweep.cases:
        cases = [{k: coerce(k, v) for k, v in case.items()} for case in sweep.cases]
        clash = sorted({k for case in cases for k in case} & set(axes_raw))
        if clash:
            raise QscaleUserError(f"{', '.join(clash)}: set by both the grid and [[sweep.cases]]; give it in one")
        axes.append(Axis(CASES, tuple(cases)))

    base = parse_config(data, str(config_path))
    base = base.quick() if quick else base
    base_data = base.model_dump(mode="json")
    cells: list[Cell] = []
    seen: set[str] = set()
    duplicates = 0
    for point in itertools.product(*(a.values for a in axes)):
        overrides: dict[str, Any] = {}
        for axis, value in zip(axes, point, strict=True):
            overrides |= value if axis.key == CASES else {axis.key: value}
        cell_data = copy.deepcopy(base_data)
        for key, value in overrides.items():
            section, name = key.split(".", 1)
            cell_data[section][name] = value
        label = " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items())
        config = _absolute_paths(parse_config(cell_data, f"cell {label}"))
        cid = cell_id(config)
        if cid in seen:
            duplicates += 1
            continue
        seen.add(cid)
        cells.append(Cell(cid, overrides, config))
    notes = []
    if duplicates:
        notes.append(f"{duplicates} grid point(s) resolve to the same config as an earlier cell and run once")
    name = sweep.name or Path(config_path).stem
    return SweepPlan(name, str(config_path), quick, axes, cells, duplicates, notes)
