"""The /stats chart: engagement per day as bars, publications per day as a line.

Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas: no pyplot, so no global
figure registry, no GUI backend and nothing shared between concurrent renders (callers may run
it in a thread). Rendering costs tens of milliseconds of CPU; async callers should use
``asyncio.to_thread``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from metrics.stats import DayPoint

#: Output size in pixels (width, height): wide enough for 30 labelled days on a phone.
CHART_SIZE = (1200, 600)
_DPI = 100
_BAR = "#4C78A8"
_LINE = "#F58518"


def render_chart(
    series: Sequence[DayPoint],
    *,
    title: str,
    engagement_label: str = "Engagement",
    posts_label: str = "Posts",
    size: tuple[int, int] = CHART_SIZE,
) -> bytes:
    """PNG bytes of exactly ``size`` pixels: one bar per day (engagement) and the number of
    publications per day on a second axis. Labels are passed in, already translated."""
    # Imported here, not at the top: matplotlib (with numpy) costs tens of MB that a process
    # which never draws a chart should not carry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    width, height = size
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(series)))
    axes.bar(positions, [p.engagement for p in series], color=_BAR, label=engagement_label)
    axes.set_ylabel(engagement_label)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0)
    step = max(1, len(series) // 15)  # at most ~15 date labels
    axes.set_xticks(positions[::step], [p.day.strftime("%d.%m") for p in series][::step])
    axes.set_xlim(-0.6, max(len(series) - 0.4, 0.6))
    axes.spines[["top"]].set_visible(False)
    posts = axes.twinx()
    posts.plot(positions, [p.posts for p in series], color=_LINE, marker="o", label=posts_label)
    posts.set_ylabel(posts_label)
    posts.yaxis.set_major_locator(MaxNLocator(integer=True))
    posts.set_ylim(bottom=0, top=max([p.posts for p in series] + [1]) * 1.2)
    posts.spines[["top"]].set_visible(False)
    handles = axes.get_legend_handles_labels()[0] + posts.get_legend_handles_labels()[0]
    axes.legend(handles, [engagement_label, posts_label], loc="upper left", frameon=False)
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
