"""The figures' charts as pictures (SVG, drawn by matplotlib without a display): learners by
commune, the monthly trend, and the mix of pathways. Suppressed cells ("<5") are drawn as
nothing and said so under the chart, never as a number."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: pictures only

from matplotlib import pyplot
from matplotlib.figure import Figure

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: searchable, and the page's font draws it
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
COLOUR = "#1f5f99"
MOST_BARS = 25


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    pyplot.close(figure)
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline: no XML declaration or doctype


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=150, bbox_inches="tight")
    pyplot.close(figure)
    return out.getvalue()


def _indicator(found: Mapping[str, Any], indicator_id: str) -> Mapping[str, Any]:
    return next(i for i in found["indicators"] if i["id"] == indicator_id)


def _numbers(rows: list[Mapping[str, Any]]) -> tuple[list[str], list[float], int]:
    labels, values, hidden = [], [], 0
    for row in rows:
        if isinstance(row["value"], int | float):
            labels.append(str(row["label"]))
            values.append(float(row["value"]))
        else:
            hidden += 1
    return labels, values, hidden


def _bar_by_commune(
    found: Mapping[str, Any], indicator_id: str = "learners_with_learning"
) -> Figure:
    """Horizontal bars of an indicator by commune (the largest first)."""
    indicator = _indicator(found, indicator_id)
    labels, values, hidden = _numbers(indicator["breakdowns"].get("commune", []))
    pairs = sorted(zip(values, labels, strict=True), reverse=True)[:MOST_BARS]
    pairs = [p for p in pairs if p[0] > 0]
    figure = pyplot.figure(figsize=(6.4, max(1.6, 0.28 * len(pairs) + 0.9)))
    axes = figure.add_subplot()
    axes.barh([p[1] for p in pairs][::-1], [p[0] for p in pairs][::-1], color=COLOUR)
    axes.set_title(f"{indicator['name_vi']} theo xã, phường", loc="left")
    if not pairs:
        axes.text(0.5, 0.5, "Không có số liệu", ha="center", va="center", transform=axes.transAxes)
        axes.set_yticks([])
    if hidden:
        figure.text(0.01, -0.02, f"{hidden} xã, phường dưới 5 người không hiển thị.", fontsize=8)
    return figure


def _trend(found: Mapping[str, Any], indicator_id: str = "completions") -> Figure:
    """The monthly trend of an indicator over the period."""
    rows = found["trend"].get(indicator_id, [])
    indicator = _indicator(found, indicator_id)
    figure = pyplot.figure(figsize=(6.4, 2.4))
    axes = figure.add_subplot()
    months = [r["period"] for r in rows]
    values = [float(r["value"]) if isinstance(r["value"], int | float) else 0.0 for r in rows]
    axes.plot(months, values, marker="o", color=COLOUR)
    axes.set_ylim(bottom=0)
    axes.set_title(f"{indicator['name_vi']} theo tháng", loc="left")
    if any(not isinstance(r["value"], int | float) for r in rows):
        figure.text(0.01, -0.04, "Tháng dưới 5 người ghi 0 trên biểu đồ (<5).", fontsize=8)
    return figure


def _pathway_mix(found: Mapping[str, Any], indicator_id: str = "completions") -> Figure:
    """The share of each pathway in an indicator (bars, which read better than a pie)."""
    indicator = _indicator(found, indicator_id)
    labels, values, hidden = _numbers(indicator["breakdowns"].get("pathway", []))
    figure = pyplot.figure(figsize=(6.4, max(1.6, 0.3 * len(labels) + 0.9)))
    axes = figure.add_subplot()
    whole = sum(values) or 1.0
    axes.barh(labels[::-1], [100 * v / whole for v in values][::-1], color=COLOUR)
    axes.set_xlabel("%")
    axes.set_title(f"{indicator['name_vi']} theo loại hình học tập", loc="left")
    if hidden:
        figure.text(0.01, -0.02, f"{hidden} loại hình dưới 5 người không hiển thị.", fontsize=8)
    return figure


def _figures(found: Mapping[str, Any]) -> list[Figure]:
    """The report's charts, in order: by commune, the monthly trend (when the period has more
    than one month), the pathway mix."""
    charts = [_bar_by_commune(found), _pathway_mix(found)]
    if len(found["trend"].get("completions", [])) > 1:
        charts.insert(1, _trend(found))
    return charts


def all_charts(found: Mapping[str, Any]) -> list[str]:
    """The report's charts as inline SVG (the pages)."""
    return [_svg(figure) for figure in _figures(found)]


def all_chart_pictures(found: Mapping[str, Any]) -> list[bytes]:
    """The report's charts as PNG pictures (the PDF)."""
    return [_png(figure) for figure in _figures(found)]
