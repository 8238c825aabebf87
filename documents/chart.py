"""The statistics chart (PNG): appointments per month stacked by outcome, and the
average satisfaction per month. matplotlib's Agg canvas, no pyplot (no global state, no
display needed); loaded on first use."""

from __future__ import annotations

import io
from collections.abc import Mapping

from domain.stats import OUTCOMES, Report

COLOURS = {
    "completed": "#2e7d32",
    "no_show": "#c62828",
    "cancelled": "#9e9e9e",
    "upcoming": "#1565c0",
}


class StatisticsChart:
    def statistics_png(self, report: Report, labels: Mapping[str, str]) -> bytes:
        """`labels`: the words in the reader's language (outcomes, titles, axes)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        months = list(report.by_month)
        figure = Figure(figsize=(9, 6.5), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        bars, line = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        bottom = [0] * len(months)
        for outcome in OUTCOMES:
            values = [getattr(report.by_month[m], outcome) for m in months]
            bars.bar(
                months,
                values,
                bottom=bottom,
                label=labels.get(outcome, outcome),
                color=COLOURS[outcome],
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        bars.set_title(labels.get("title", ""))
        bars.set_ylabel(labels.get("appointments", ""))
        bars.legend(loc="upper left", fontsize="small")
        scores = [report.satisfaction_by_month[m].average for m in months]
        shown = [(m, s) for m, s in zip(months, scores, strict=True) if s is not None]
        if shown:
            line.plot([m for m, _ in shown], [s for _, s in shown], marker="o", color="#6a1b9a")
        line.set_ylim(0, 10)
        line.set_ylabel(labels.get("satisfaction", ""))
        line.grid(axis="y", alpha=0.3)
        line.tick_params(axis="x", labelrotation=45)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
