"""Horizontal bar charts for the dashboard, drawn as inline SVG by ``reports/_bar_chart.html``.

The same approach as ``assessments.charts``: plain geometry computed here, no JavaScript and no
chart library. Every bar carries its value as text and each series has its own fill pattern
class, so a chart reads without colour and in black-and-white print; the table with the same
numbers follows each chart (for screen readers, and for the CSV export).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
LABEL_W = 190  # left margin for the category labels
VALUE_W = 70  # right margin for the value labels
BAR_H = 14
GAP = 4
GROUP_GAP = 10
TOP = 8


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: str
    series: int

    @property
    def label_x(self) -> float:
        return self.x + self.width + 4

    @property
    def label_y(self) -> float:
        return self.y + self.height / 2


@dataclass
class Group:
    label: str
    y: float  # the label's vertical centre
    bars: list[Bar] = field(default_factory=list)


@dataclass
class BarChart:
    slug: str
    title: str
    description: str
    series: list[str]
    groups: list[Group]
    height: int
    width: int = WIDTH
    left: int = LABEL_W

    @property
    def has_data(self) -> bool:
        return any(b.width > 0 for g in self.groups for b in g.bars)

    @property
    def right(self) -> int:
        return self.width - VALUE_W

    @property
    def label_x(self) -> int:
        return self.left - 6


def _fmt(value, suffix: str) -> str:
    if value is None:
        return "—"
    text = str(int(value)) if float(value).is_integer() else f"{value:.1f}"
    return text + suffix


def bar_chart(
    *,
    slug: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | int | None]]],
    suffix: str = "",
    maximum: float | None = None,
) -> BarChart:
    """One group of bars per category, one bar per series (at most three)."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = maximum if maximum is not None else max(values, default=0)
    span = (WIDTH - VALUE_W) - LABEL_W
    groups: list[Group] = []
    y = TOP
    for index, category in enumerate(categories):
        group_h = len(series) * BAR_H + (len(series) - 1) * GAP
        group = Group(label=category, y=y + group_h / 2)
        for s_index, (_name, vs) in enumerate(series):
            value = vs[index]
            width = (span * float(value) / top) if value and top else 0.0
            group.bars.append(
                Bar(
                    x=LABEL_W,
                    y=y + s_index * (BAR_H + GAP),
                    width=round(width, 1),
                    height=BAR_H,
                    value=_fmt(value, suffix),
                    series=s_index + 1,
                )
            )
        groups.append(group)
        y += group_h + GROUP_GAP
    names = ", ".join(name for name, _ in series)
    description = (
        f"{title}: horizontal bars for {len(categories)} categories; series: {names}. "
        "The table below lists the same numbers."
    )
    return BarChart(
        slug=slug,
        title=title,
        description=description,
        series=[name for name, _ in series],
        groups=groups,
        height=int(y - GROUP_GAP + TOP),
    )
