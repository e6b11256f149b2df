"""Figures for the report, as PNG data URIs so the HTML stays one self-contained file."""

from __future__ import annotations

import base64
import io
from functools import cache
from typing import TYPE_CHECKING, Any

from odin_acceptance.core.evidence import Histogram, Timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLORS = {"crossing": "#1f77b4", "pending": "#ff7f0e", "firing": "#d62728", "notified": "#2ca02c"}


@cache
def _pyplot() -> Any:
    """matplotlib's pyplot, imported when the first figure is drawn (about 0.4 s): loading the
    suite, and a run that draws nothing, never pay for it."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot

    return matplotlib.pyplot


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def timeline_png(figure: Timeline) -> str:
    origin = min([t for t, _ in figure.series] + [t for t, _ in figure.events])
    fig, ax = _pyplot().subplots(figsize=(7, 2.6))
    if figure.series:
        ax.step(
            [t - origin for t, _ in figure.series],
            [v for _, v in figure.series],
            where="post",
            color="#333",
            label="value as Prometheus scraped it",
        )
    if figure.threshold is not None:
        ax.axhline(
            figure.threshold, color="#d62728", linestyle="--", linewidth=1, label=f"threshold {figure.threshold:g}"
        )
    for when, what in figure.events:
        color = next((c for key, c in _COLORS.items() if key in what), "#7f7f7f")
        ax.axvline(when - origin, color=color, linewidth=1)
        ax.annotate(
            f"{what} ({when - origin:.2f} s)",
            (when - origin, 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color=color,
        )
    ax.set_xlabel("seconds after the change")
    ax.set_ylabel(figure.unit)
    ax.set_title(figure.title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def histogram_png(figure: Histogram) -> str:
    fig, ax = _pyplot().subplots(figsize=(7, 2.4))
    ax.hist(figure.values, bins=min(40, max(5, len(figure.values) // 5)), color="#1f77b4")
    if figure.bound is not None:
        ax.axvline(
            figure.bound, color="#d62728", linestyle="--", linewidth=1, label=f"bound {figure.bound:g} {figure.unit}"
        )
        ax.legend(fontsize=7)
    ax.set_xlabel(figure.unit)
    ax.set_ylabel("count")
    ax.set_title(figure.title, fontsize=9)
    return _png(fig)


def figure_png(figure: Timeline | Histogram) -> str:
    return timeline_png(figure) if isinstance(figure, Timeline) else histogram_png(figure)
