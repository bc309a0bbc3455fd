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
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #345; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #eef; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
.note { background: #fff8e0; border-left: 4px solid #e0b000; padding: 0.4em 0.8em; margin: 0.5em 0; }
pre { background: #f5f5f5; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; height: auto; } .scroll { overflow-x: auto; }
table.verdicts { width: 100%; table-layout: fixed; line-height: 1.3; }
table.verdicts td, table.verdicts th { text-align: left; vertical-align: top; }
col.v-claim { width: 13%; } col.v-badge { width: 11%; } col.v-headline { width: 23%; }
col.v-classical { width: 20%; } col.v-flip { width: 23%; } col.v-link { width: 10%; }
table.verdicts td:last-child { overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0.1em 0.5em; border-radius: 0.8em; font-weight: 600; font-size: 0.9em; }
.badge.ahead { background: #d6f5d6; color: #145214; } .badge.tie { background: #e4e8f0; color: #333; }
.badge.behind { background: #fde2cc; color: #7a3300; } .badge.infeasible { background: #f6d0d0; color: #7a0000; }
.badge.none { background: #eee; color: #666; }
table.header { font-size: 0.85em; } table.header td:first-child { font-weight: 600; }
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


_BADGE_CLASS = {"ahead": "ahead", "tie": "tie", "behind": "behind", "not feasible": "infeasible"}


def _verdicts(stages: list[StageOutput]) -> str:
    """The opening table: one row per claim the study tests (qscale.study.verdicts), a badge per verdict."""
    from qscale.study.verdicts import HEADERS, verdicts

    ran = {s.name for s in stages}
    cols = "".join(f'<col class="v-{c}">' for c in ("claim", "badge", "headline", "classical", "flip", "link"))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    body = []
    for v in verdicts({s.name: s.summary for s in stages}):
        badge = f'<span class="badge {_BADGE_CLASS.get(v.badge, "none")}">{html.escape(v.label)}</span>'
        link = (f'<a href="#stage-{html.escape(v.section)}">{html.escape(v.section)}</a>' if v.section in ran
                else html.escape(v.section or "-"))  # fmt: skip
        cells = [html.escape(v.claim), badge, *(html.escape(c) for c in (v.headline, v.classical, v.flip)), link]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        '<section id="verdicts"><h3>Verdicts at a glance</h3><table class="verdicts">'
        f"<colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _header_rows(header: dict) -> list[tuple[str, str]]:
    """The run header as a few labelled rows (CPU, cores, memory, torch, CUDA, time), not JSON."""
    m = header.get("machine") or {}
    mem = m.get("memory_gb")
    seconds = header.get("seconds")
    rows = [
        ("study", f"{header.get('study', '-')}" + (" (quick)" if header.get("quick") else "")),
        ("qscale", str(header.get("qscale_version", "-"))),
        ("CPU", str(m.get("processor", "-"))),
        ("cores", str(m.get("cpu_count", "-"))),
        ("memory", f"{mem:.3g} GB" if isinstance(mem, int | float) else "-"),
        ("Python / torch", f"{m.get('python', '-')} / {m.get('torch', '-')}"),
        ("CUDA", str(m.get("cuda") or "none")),
        ("started (UTC)", str(header.get("started_utc", "-"))),
        ("wall time", f"{seconds:.3g} s (measured)" if isinstance(seconds, int | float) else "-"),
    ]
    known = {"study", "quick", "qscale_version", "machine", "started_utc", "seconds"}
    rows += [(str(k), _value(v)) for k, v in header.items() if k not in known]
    return rows


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
    meta = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in _header_rows(header))
    toc = "".join(f'<li><a href="#stage-{html.escape(s.name)}">{html.escape(s.title)}</a></li>' for s in stages)
    body = "\n".join(_section(s) for s in stages)
    return f"""{page_head(title)}
{_verdicts(stages)}
<p>Figure kinds: <b>measured</b> (clocks/counters in this run), <b>simulated</b> (classical simulation of a
quantum circuit), <b>projected</b> (a model of hardware not run on), <b>assumed</b> (an input, with its source).
No simulated quantum time is a quantum speedup.</p>
<table class="header">{meta}</table>
<ul>{toc}</ul>
{body}
<h2>Resolved configuration</h2><pre>{html.escape(config_toml)}</pre>
<details><summary>Raw header (JSON)</summary><pre>{html.escape(dumps(header))}</pre></details>
</body></html>
"""
