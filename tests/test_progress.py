"""qscale.progress: third-party INFO stays off the terminal unless --verbose, one qscale logger, and progress that
is a bar on a terminal, periodic lines otherwise, and nothing under --json / --quiet."""

from __future__ import annotations

import logging

import pytest

from qscale import progress


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    levels = {n: logging.getLogger(n).level for n in (*progress.THIRD_PARTY, "qscale")}
    mode = progress._state["mode"]
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)
    logging.getLogger("qscale").handlers[:] = []
    progress.set_mode(mode)


def _transpile_something() -> None:
    from qiskit import QuantumCircuit, transpile

    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    transpile(qc, basis_gates=["rz", "sx", "cx"], optimization_level=1)


def test_no_info_from_qiskit_without_verbose_even_after_a_library_calls_basicconfig(capsys):
    progress.configure(0)
    logging.basicConfig(level=logging.INFO)  # what pypsa.Network() does
    _transpile_something()
    err = capsys.readouterr().err
    assert "INFO:qiskit" not in err


def test_verbose_shows_qiskit_info(capsys):
    progress.configure(1)
    _transpile_something()
    assert "INFO:qiskit" in capsys.readouterr().err


def test_one_qscale_logger_plain_messages_and_json_keeps_only_errors(capsys):
    progress.configure(0)
    progress.logger("study").info("stage qaoa: start")
    progress.logger().debug("not shown without --verbose")
    assert capsys.readouterr().err == "stage qaoa: start\n"
    progress.configure(0, as_json=True)
    progress.logger("study").info("hidden")
    progress.logger("study").warning("hidden too")
    progress.logger("study").error("shown")
    assert capsys.readouterr().err == "shown\n"
    assert progress.mode() == "off"


def test_lines_mode_prints_periodic_lines_with_elapsed_and_eta(capsys):
    progress.configure(0)
    progress.set_mode("lines")
    with progress.track("layers", total=4, every_s=0.0) as t:
        for i in range(1, 5):
            t.update(i, description="layers")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("layers: 1/4, 0:00 elapsed, about ") and lines[0].endswith("left")
    assert lines[-1].startswith("layers: 4/4") and "left" not in lines[-1]
    assert len(lines) == 4  # three updates and the closing line (the last update is the closing line's)


def test_lines_mode_is_rate_limited_and_off_mode_is_silent(capsys):
    progress.configure(0)
    progress.set_mode("lines")
    with progress.track("steps", total=1000, every_s=3600.0) as t:
        for _ in range(1000):
            t.advance()
    assert capsys.readouterr().err.splitlines() == ["steps: 1000/1000, 0:00 elapsed"]
    progress.configure(-1)
    with progress.track("steps", total=3, every_s=0.0) as t:
        t.advance(3)
    progress.logger().info("quiet hides info")
    assert capsys.readouterr().err == ""


def test_bar_mode_runs_nested_bars_and_prints_messages_above_them(capsys):
    progress.configure(0)
    progress.set_mode("bar")
    with progress.track("stages", total=2) as outer:
        with progress.track("layers", total=3) as inner:
            inner.advance(3)
            progress.logger().info("a message")
        outer.advance(2)
    assert progress._state["live"] is None  # the display is gone once the last bar closes
    assert "a message" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "qiskit_level"), [("-v", logging.INFO), ("--quiet", logging.WARNING), (None, None)])
def test_root_command_flags_set_the_levels(cli_fast, flag, qiskit_level):
    res = cli_fast(*([flag] if flag else []), "energy", "list", "--json")
    assert res.code == 0, res.stderr
    assert res.json() and res.stderr == ""
    # --json on the subcommand: errors only, whatever the root flag said
    assert logging.getLogger("qiskit").level == logging.ERROR
    assert logging.getLogger("qscale").level == logging.ERROR
    res = cli_fast(*([flag] if flag else []), "energy", "list")
    assert res.code == 0, res.stderr
    if qiskit_level is not None:
        assert logging.getLogger("qiskit").level == qiskit_level
    else:
        assert logging.getLogger("qiskit").level == logging.WARNING and progress.mode() in ("bar", "lines")
