"""Measurement-based care trend charts, computed here and drawn as inline SVG by a template.

No JavaScript and no chart library: the geometry is plain numbers the template places in
``<svg>``. Each series has its own marker shape and line pattern and every point carries its
value as text, so a chart reads without colour and in black-and-white print; a ``<table>``
with the same numbers follows each chart for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from .instruments import BAND_SETS, RULER_TYPES, BamThresholds, BandSet
from .models import RULER_INSTRUMENT, AssessmentResponse

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 150, 14, 46  # margins; the right one holds threshold labels
MARKERS = ("circle", "square", "triangle")
MAX_X_LABELS = 6


@dataclass
class Point:
    x: float
    y: float
    value: str
    date: str
    marker: str
    label_y: float = 0.0
    shape: str = ""  # polygon points for triangles

    @property
    def label_x(self) -> float:
        return self.x + 7

    @property
    def square_x(self) -> float:
        return self.x - 4

    @property
    def square_y(self) -> float:
        return self.y - 4


@dataclass
class Series:
    key: str
    name: str
    marker: str
    index: int
    points: list[Point] = field(default_factory=list)

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class Line:
    y: float
    label: str


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Chart:
    slug: str
    title: str
    description: str
    y_label: str
    series: list[Series]
    thresholds: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    columns: list[str]
    rows: list[list[str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def threshold_label_x(self) -> int:
        return self.right + 6

    @property
    def x_axis_label_y(self) -> int:
        return self.height - 6

    @property
    def y_axis_label_x(self) -> int:
        return 12

    @property
    def y_axis_label_y(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def has_data(self) -> bool:
        return any(s.points for s in self.series)


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _y(value: float, y_max: float) -> float:
    return TOP + (HEIGHT - BOTTOM - TOP) * (1 - value / y_max)


def _x_positions(responses: Sequence[AssessmentResponse]) -> list[float]:
    low, high = LEFT + 16, WIDTH - RIGHT - 16
    if len(responses) == 1:
        return [(low + high) / 2]
    stamps = [r.administered_at.timestamp() for r in responses]
    span = stamps[-1] - stamps[0]
    if span <= 0:
        step = (high - low) / (len(responses) - 1)
        return [low + i * step for i in range(len(responses))]
    return [low + (high - low) * (s - stamps[0]) / span for s in stamps]


def _triangle(x: float, y: float, r: float = 5) -> str:
    return f"{x:.1f},{y - r:.1f} {x - r:.1f},{y + r * 0.8:.1f} {x + r:.1f},{y + r * 0.8:.1f}"


def _build(
    *,
    slug: str,
    title: str,
    responses: Sequence[AssessmentResponse],
    keys: Sequence[tuple[str, str]],
    value_of,
    y_max: int,
    y_step: int,
    y_label: str,
    thresholds: list[tuple[int, str]],
    zone,
    extra_column: tuple[str, callable] | None = None,
) -> Chart:
    responses = sorted(responses, key=lambda r: (r.administered_at, r.pk))
    xs = _x_positions(responses) if responses else []
    dates = [timezone.localtime(r.administered_at, zone).strftime("%Y-%m-%d") for r in responses]
    series = []
    for index, (key, name) in enumerate(keys):
        marker = MARKERS[index % len(MARKERS)]
        s = Series(key=key, name=name, marker=marker, index=index + 1)
        for x, response, day in zip(xs, responses, dates, strict=True):
            value = value_of(response, key)
            if value is None:
                continue
            y = _y(float(value), y_max)
            point = Point(x=x, y=y, value=_fmt(value), date=day, marker=marker, label_y=y + 4)
            if marker == "triangle":
                point.shape = _triangle(x, y)
            s.points.append(point)
        series.append(s)
    # Value labels sit right of each marker; where two series meet at one date, push the
    # lower label down so the numbers never overprint.
    for x in set(xs):
        placed: list[float] = []
        for point in sorted((p for s in series for p in s.points if p.x == x), key=lambda p: p.y):
            label_y = point.y + 4
            if placed and label_y - placed[-1] < 11:
                label_y = placed[-1] + 11
            point.label_y = label_y
            placed.append(label_y)
    if responses:
        every = max(1, -(-len(responses) // MAX_X_LABELS))
        shown = list(range(0, len(responses), every))
        if shown[-1] != len(responses) - 1:
            shown.append(len(responses) - 1)
        x_ticks = [Tick(xs[i], dates[i]) for i in shown]
    else:
        x_ticks = []
    y_ticks = [Tick(_y(v, y_max), str(v)) for v in range(0, y_max + 1, y_step)]
    lines = [Line(_y(v, y_max), label) for v, label in thresholds]
    columns = ["Date", *(name for _, name in keys)]
    if extra_column:
        columns.append(extra_column[0])
    rows = []
    for response, day in zip(responses, dates, strict=True):
        row = [day, *(_fmt(value_of(response, key)) for key, _ in keys)]
        if extra_column:
            row.append(extra_column[1](response))
        rows.append(row)
    names = ", ".join(name for _, name in keys)
    description = (
        f"{title}: {len(responses)} administration{'s' if len(responses) != 1 else ''}"
        + (f" from {dates[0]} to {dates[-1]}" if responses else "")
        + f". Series: {names}. Threshold lines: "
        + ("; ".join(label for _, label in thresholds) or "none")
        + ". The table below lists the same numbers."
    )
    return Chart(
        slug=slug,
        title=title,
        description=description,
        y_label=y_label,
        series=series,
        thresholds=lines,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        columns=columns,
        rows=rows,
    )


def _band_thresholds(band_set_id: str) -> list[tuple[int, str]]:
    band_set = BAND_SETS[band_set_id]
    assert isinstance(band_set, BandSet)
    return [(band.low, f"{band.low}: {band.label.lower()}") for band in band_set.bands[1:]]


def total_chart(code: str, responses: Sequence[AssessmentResponse], zone) -> Chart:
    """A total-score trend (PHQ-9, GAD-7) with a line at the bottom of each band."""
    band_set_id = responses[-1].band_set if responses else {"PHQ-9": "PHQ-9:2001", "GAD-7": "GAD-7:2006"}[code]
    y_max = {"PHQ-9": 27, "GAD-7": 21}[code]
    return _build(
        slug=code.lower().replace("-", ""),
        title=f"{code} total",
        responses=responses,
        keys=[("total", f"{code} total")],
        value_of=lambda r, key: r.total,
        y_max=y_max,
        y_step=3,
        y_label="Total score",
        thresholds=_band_thresholds(band_set_id),
        zone=zone,
        extra_column=("Band", lambda r: r.band_label),
    )


def bam_chart(responses: Sequence[AssessmentResponse], zone) -> Chart:
    """BAM subscales (use 0-12, risk 0-24, protective 0-24) with the flag thresholds."""
    limits = BAND_SETS["BAM:VA-DEFAULT"]
    assert isinstance(limits, BamThresholds)
    thresholds = [(limits.use_flag_min, f"{limits.use_flag_min}: use flag (use ≥ {limits.use_flag_min})")]
    if limits.risk_flag_min == limits.protective_flag_max:
        thresholds.append(
            (limits.risk_flag_min, f"{limits.risk_flag_min}: risk ≥ / protective ≤ {limits.risk_flag_min}")
        )
    else:
        thresholds += [
            (limits.risk_flag_min, f"{limits.risk_flag_min}: risk flag (≥)"),
            (limits.protective_flag_max, f"{limits.protective_flag_max}: protective flag (≤)"),
        ]
    return _build(
        slug="bam",
        title="BAM subscales",
        responses=responses,
        keys=[("use", "Use"), ("risk", "Risk"), ("protective", "Protective")],
        value_of=lambda r, key: (r.subscales or {}).get(key),
        y_max=24,
        y_step=4,
        y_label="Subscale score",
        thresholds=thresholds,
        zone=zone,
        extra_column=("Flags", lambda r: ", ".join(f.replace("_", " ").lower() for f in r.flags) or "none"),
    )


def ruler_chart(responses: Sequence[AssessmentResponse], zone) -> Chart:
    """Readiness-ruler values (0-10), one series per type of ruler. The ruler has no validated
    bands (DOMAIN.md 4.10), so there are no threshold lines and no category: a trend only."""
    return _build(
        slug="readinessruler",
        title="Readiness ruler",
        responses=responses,
        keys=list(RULER_TYPES.items()),
        value_of=lambda r, key: r.total if r.ruler_type == key else None,
        y_max=10,
        y_step=2,
        y_label="Rating (0-10)",
        thresholds=[],
        zone=zone,
    )


def patient_charts(responses: Sequence[AssessmentResponse], zone) -> list[Chart]:
    """The PHQ-9, GAD-7 and BAM charts from a patient's responses (any order), oldest first,
    then the readiness-ruler trend when the patient has ruler responses."""
    by_code: dict[str, list[AssessmentResponse]] = {"PHQ-9": [], "GAD-7": [], "BAM": [], RULER_INSTRUMENT: []}
    for response in responses:
        if response.instrument in by_code:
            by_code[response.instrument].append(response)
    for rows in by_code.values():
        rows.sort(key=lambda r: (r.administered_at, r.pk))
    charts = [
        total_chart("PHQ-9", by_code["PHQ-9"], zone),
        total_chart("GAD-7", by_code["GAD-7"], zone),
        bam_chart(by_code["BAM"], zone),
    ]
    if by_code[RULER_INSTRUMENT]:
        charts.append(ruler_chart(by_code[RULER_INSTRUMENT], zone))
    return charts
