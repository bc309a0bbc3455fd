"""A self-contained HTML report: one section per stage, plots embedded as PNG, no network needed.

Its Content-Security-Policy allows only inline styles and data: images, so a browser refuses (and reports)
anything that would reach outside the file; tests/test_report_browser.py opens it in headless chromium.
"""

from __future__ import annotations

import base64
import html

from qscale.io import dumps
from qscale.study.stage import StageOutput

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #345; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #eef; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
.note { background: #fff8e0; border-left: 4px solid #e0b000; padding: 0.4em 0.8em; margin: 0.5em 0; }
pre { background: #f5f5f5; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; height: auto; } .scroll { overflow-x: auto; }
"""
# No scripts, fonts, frames or fetches; images only from data: URIs (the embedded plots).
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _table(title: str, headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<h3>{html.escape(title)}</h3><div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _energy_text(energy: dict) -> str:
    if not energy:
        return "an unrecorded amount of energy"
    text = f"{energy['energy_j']:.0f} J ({energy['kind']})"
    qpu = energy.get("projected_qpu_energy_j")
    if qpu:
        text += f"; the same quantum work on hardware would take about {qpu['typical']:.3g} J (projected, typical)"
    return html.escape(text)


def _section(stage: StageOutput) -> str:
    parts = [
        f'<section id="stage-{html.escape(stage.name)}"><h2>{html.escape(stage.title)}</h2>',
        f"<p>Stage ran in {stage.seconds:.1f} s (measured).</p>",
    ]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in stage.notes]
    parts += [_table(t.title, t.headers, t.rows) for t in stage.tables]
    for fig in stage.figures:
        data = base64.b64encode(fig.png).decode("ascii")
        parts.append(
            f'<figure><img alt="{html.escape(fig.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(fig.title)}: {html.escape(fig.caption)}</figcaption></figure>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _value(v: object) -> str:
    """Header values as text: nested dicts and lists as compact JSON rather than Python reprs."""
    return dumps(v, indent=None) if isinstance(v, dict | list) else str(v)


def _verdicts(stages: list[StageOutput]) -> str:
    """The opening table: one row per claim the study tests (qscale.study.verdicts)."""
    from qscale.study.verdicts import HEADERS, verdict_rows

    rows = verdict_rows({s.name: s.summary for s in stages})
    return '<section id="verdicts">' + _table("Verdicts at a glance", HEADERS, rows) + "</section>"


def page_head(title: str) -> str:
    """The start of every self-contained qscale page: strict CSP (no scripts, inline images only), the shared
    style sheet, and the title as <h1>."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>"""


def render_report(title: str, header: dict, stages: list[StageOutput], config_toml: str) -> str:
    rows = [(html.escape(str(k)), html.escape(_value(v))) for k, v in header.items()]
    meta = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    toc = "".join(f'<li><a href="#stage-{html.escape(s.name)}">{html.escape(s.title)}</a></li>' for s in stages)
    body = "\n".join(_section(s) for s in stages)
    return f"""{page_head(title)}
{_verdicts(stages)}
<p>Figure kinds: <b>measured</b> (clocks/counters in this run), <b>simulated</b> (classical simulation of a
quantum circuit), <b>projected</b> (a model of hardware not run on), <b>assumed</b> (an input, with its source).
No simulated quantum time is a quantum speedup.</p>
<table>{meta}</table>
<ul>{toc}</ul>
{body}
<h2>Resolved configuration</h2><pre>{html.escape(config_toml)}</pre>
<details><summary>Raw header (JSON)</summary><pre>{html.escape(dumps(header))}</pre></details>
</body></html>
"""
