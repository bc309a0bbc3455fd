"""The one Markdown-table helper: the exact shape generated docs rely on, alignment rules, bad input."""

from __future__ import annotations

import pytest

from qscale.markdown import markdown_table


def test_shape_matches_the_generated_docs():
    text = markdown_table(["#", "case", "error"], [[1, "T5", "+1.0%"], [2, "x|y", None]])
    assert text == "| # | case | error |\n|---|---|---|\n| 1 | T5 | +1.0% |\n| 2 | x|y | None |"


def test_alignment_per_column_and_as_a_string():
    rule = markdown_table(["a", "b", "c", "d"], [], align=["l", "r", "c", None]).splitlines()[1]
    assert rule == "|:---|---:|:---:|---|"
    assert markdown_table(["a", "b"], [[1, 2]], align="rl").splitlines()[1] == "|---:|:---|"


@pytest.mark.parametrize(
    ("headers", "rows", "align", "message"),
    [
        ([], [], None, "at least one column"),
        (["a", "b"], [[1]], None, "row 0 has 1 cells"),
        (["a", "b"], [], "r", "align has 1 entries"),
        (["a"], [], ["x"], "'l', 'r', 'c' or None"),
    ],
)
def test_bad_tables_are_refused(headers, rows, align, message):
    with pytest.raises(ValueError, match=message):
        markdown_table(headers, rows, align=align)
