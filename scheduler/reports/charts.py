"""A report table drawn as an SVG chart, on the server (SPEC §11: no chart library, no
script, prints well).

:func:`svg` turns a :class:`~scheduler.reports.tables.Table` and its
:class:`~scheduler.reports.tables.Chart` into SVG text that a page inlines:

- ``bars``: one horizontal bar per row (a group of bars, one per series), the row's label
  on the left, a value axis of a few round ticks below and each value at its bar's end.
  Horizontal, because row labels (funnel stages, drop-out reasons, rooms) are words that
  would not fit under upright bars on a phone.
- ``line``: rows in order along the x axis (days or weeks), one polyline per series with a
  marker at each point.

Rates (``Kind.RATE``, fractions 0..1) are drawn as percentages on a 0-100% axis. A value
of None is a gap (no bar, a break in the line, "no data" written in its place), never a
zero. The axis reads in the first series' kind: a chart's series share one.

Accessible (WCAG 2.1 1.1.1, 1.4.1): ``role="img"`` named by its ``<title>`` and ``<desc>``
(``aria-labelledby``), the desc saying what the chart shows in words; colour is never the
only cue, each series has its own fill pattern (bars) or dash and marker shape (lines), and
a legend names the series when there is more than one. Every text from the table is
escaped; a label too long for its place is cut short, its whole text in a ``<title>``.
No ``style`` attribute (the pages' CSP forbids inline styles): colours come from classes
in ``app.css`` (``svg.chart``), so print switches them to black on white. The ``viewBox``
lets the chart scale to the width of a phone. The same table always gives the same text.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Final

from scheduler.reports.tables import Cell, Chart, Kind, Table

WIDTH: Final = 520
FONT_SIZE: Final = 13
# Roughly how wide a character of the chart's text is, to place legends and cut labels.
CHAR_WIDTH: Final = 7.2
NO_VALUE: Final = "—"
NO_DATA: Final = "no data"
ELLIPSIS: Final = "…"

# Bars: the labels' column, the bars' run, room at the end for the value.
LABEL_WIDTH: Final = 168
LABEL_CHARS: Final = 22
VALUE_ROOM: Final = 52
BAR_HEIGHT: Final = 16
BAR_GAP: Final = 2
BAND_PADDING: Final = 12
BAR_AXIS_HEIGHT: Final = 28

# Lines: the value axis on the left, the x labels below.
PLOT_HEIGHT: Final = 200
LINE_LEFT: Final = 48
LINE_RIGHT: Final = 20
LINE_BOTTOM: Final = 40
X_LABELS: Final = 7  # at most this many x labels; the others are left out
X_LABEL_CHARS: Final = 9
MARKER_SIZE: Final = 4.0

LEGEND_ROW: Final = 22
LEGEND_KEY: Final = 14
LEGEND_CHARS: Final = 30
MARGIN: Final = 8
TICKS: Final = 4  # about this many steps on a value axis

# Each series' look besides its colour: dash of its line, shape of its markers, pattern of
# its bars (the classes s0..s5 colour them; print turns the colours to black and white).
STYLES: Final = 6
DASHES: Final = ("", "8 4", "2 3", "10 3 2 3", "4 4", "12 4")
MARKERS: Final = ("circle", "square", "triangle", "diamond", "cross", "bar")
PATTERNS: Final = (
    "",  # solid
    '<path class="chart-mark" d="M-2,2 L2,-2 M0,8 L8,0 M6,10 L10,6"/>',  # diagonal
    '<circle class="chart-dot" cx="4" cy="4" r="1.6"/>',  # dots
    '<path class="chart-mark" d="M0,4 H8"/>',  # horizontal
    '<path class="chart-mark" d="M4,0 V8"/>',  # vertical
    '<path class="chart-mark" d="M-2,2 L2,-2 M0,8 L8,0 M6,10 L10,6'
    ' M-2,6 L2,10 M0,0 L8,8 M6,-2 L10,2"/>',  # crossed
)
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UNITS: Final = {Kind.RATE: "percent", Kind.DAYS: "days", Kind.MINUTES: "minutes"}


def svg(table: Table, ident: str | None = None) -> str | None:
    """The table's chart as SVG text; None when the table has no chart.

    ``ident`` makes the chart's element ids unique on a page that shows several charts
    (default: the table's name). A table with no rows, or no value in any series, gives a
    short "no data" picture.
    """
    chart = table.chart
    if chart is None:
        return None
    prefix = "chart-" + re.sub(r"[^A-Za-z0-9_-]", "-", ident or table.name)
    drawn = Drawn.of(table, chart)
    if not drawn.any_value:
        return _no_data(table, prefix)
    if chart.style == "line":
        return _line(table, drawn, prefix)
    if chart.style == "bars":
        return _bars(table, drawn, prefix)
    raise ValueError(f"unknown chart style {chart.style!r}")


def display(value: Cell, kind: Kind) -> str:
    """A value as the page and the chart write it: a rate as a percentage, days to one
    decimal, counts and minutes whole, a day in ISO 8601, nothing as an em dash."""
    if value is None:
        return NO_VALUE
    if isinstance(value, date | str):
        return value.isoformat() if isinstance(value, date) else value
    if kind is Kind.RATE:
        return _number(value * 100) + "%"
    if kind is Kind.DAYS:
        return f"{value:.1f}"
    return f"{round(value):,}" if kind in {Kind.COUNT, Kind.MINUTES} else _number(value)


# ---------------------------------------------------------------------------------------
# What is drawn


@dataclass(frozen=True)
class Series:
    title: str
    values: tuple[float | None, ...]  # in axis units (a rate as a percentage)
    shown: tuple[str, ...]  # each value as written


@dataclass(frozen=True)
class Drawn:
    label_title: str
    labels: tuple[str, ...]  # each row's whole label
    short: tuple[str, ...]  # each row's label as the axis writes it
    kind: Kind
    series: tuple[Series, ...]

    @classmethod
    def of(cls, table: Table, chart: Chart) -> Drawn:
        label_column = table.column(chart.label)
        columns = [table.column(name) for name in chart.series]
        kind = columns[0].kind if columns else Kind.COUNT
        labels = tuple(_label(value, label_column.kind) for value in table.values(chart.label))
        short = tuple(
            _short_date(value) if isinstance(value, date) and chart.style == "line" else label
            for value, label in zip(table.values(chart.label), labels, strict=True)
        )
        series = tuple(
            Series(
                title=column.title,
                values=tuple(_axis_value(v, kind) for v in table.values(column.name)),
                shown=tuple(
                    display(v if _is_number(v) else None, column.kind)
                    for v in table.values(column.name)
                ),
            )
            for column in columns
        )
        return cls(label_column.title, labels, short, kind, series)

    @property
    def any_value(self) -> bool:
        return any(v is not None for each in self.series for v in each.values)

    @property
    def top(self) -> float:
        return max((v for each in self.series for v in each.values if v is not None), default=0)

    @property
    def series_words(self) -> str:
        titles = [each.title for each in self.series]
        return ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else titles[0]


@dataclass(frozen=True)
class Axis:
    """A value axis from 0 to ``top`` in ``step``\\ s: round numbers a reader can use."""

    top: float
    step: float
    kind: Kind

    @classmethod
    def of(cls, largest: float, kind: Kind) -> Axis:
        if kind is Kind.RATE:
            return cls(100.0, 25.0, kind)
        whole = kind in {Kind.COUNT, Kind.MINUTES}
        if largest <= 0:
            return cls(1.0, 1.0 if whole else 0.25, kind)
        magnitude = 10.0 ** math.floor(math.log10(largest / TICKS))
        steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
        if whole:
            steps = [s for s in steps if s >= 1 and s == int(s)] or [1.0]
        # The finest round step that needs at most one tick more than TICKS.
        step = next(s for s in steps if _steps(largest, s) <= TICKS + 1)
        return cls(round(_steps(largest, step) * step, 6), step, kind)

    def ticks(self) -> Iterator[tuple[float, str]]:
        count = round(self.top / self.step)
        for index in range(count + 1):
            value = round(index * self.step, 6)
            if self.kind is Kind.RATE:
                yield value, _number(value) + "%"
            elif self.kind in {Kind.COUNT, Kind.MINUTES}:
                yield value, f"{round(value):,}"
            else:
                yield value, _number(value)

    def fraction(self, value: float) -> float:
        return min(max(value, 0.0), self.top) / self.top


# ---------------------------------------------------------------------------------------
# Bars


def _bars(table: Table, drawn: Drawn, prefix: str) -> str:
    count = len(drawn.series)
    band = count * BAR_HEIGHT + (count - 1) * BAR_GAP + BAND_PADDING
    legend, legend_height = _legend(drawn, prefix, bars=True)
    top = MARGIN + legend_height
    plot_bottom = top + len(drawn.labels) * band
    height = plot_bottom + BAR_AXIS_HEIGHT
    left, right = LABEL_WIDTH, WIDTH - VALUE_ROOM
    axis = Axis.of(drawn.top, drawn.kind)
    run = right - left

    parts = [_defs(prefix, count), *legend]
    for tick, text in axis.ticks():
        x = _fmt(left + axis.fraction(tick) * run)
        parts.append(f'<line class="chart-grid" x1="{x}" y1="{top}" x2="{x}" y2="{plot_bottom}"/>')
        parts.append(
            f'<text class="chart-tick" x="{x}" y="{plot_bottom + 18}" '
            f'text-anchor="middle">{text}</text>'
        )
    parts.append(_unit(drawn.kind, x=right, y=plot_bottom + 18, anchor="start", shift=8))
    for row, label in enumerate(drawn.labels):
        band_top = top + row * band + BAND_PADDING / 2
        middle = band_top + (count * BAR_HEIGHT + (count - 1) * BAR_GAP) / 2
        parts.append(
            _text("chart-label", LABEL_WIDTH - 8, middle + 4, label, LABEL_CHARS, anchor="end")
        )
        for index, series in enumerate(drawn.series):
            y = band_top + index * (BAR_HEIGHT + BAR_GAP)
            value = series.values[row]
            what = escape(f"{label}, {series.title}: {series.shown[row]}")
            if value is None:
                parts.append(
                    f'<text class="chart-value chart-gap" x="{left + 6}" '
                    f'y="{_fmt(y + BAR_HEIGHT - 4)}">{NO_DATA}<title>{what}</title></text>'
                )
                continue
            width = axis.fraction(value) * run
            parts.append(
                f'<rect class="chart-bar s{index % STYLES}" x="{left}" y="{_fmt(y)}" '
                f'width="{_fmt(width)}" height="{BAR_HEIGHT}" '
                f'fill="url(#{prefix}-p{index % STYLES})"><title>{what}</title></rect>'
            )
            parts.append(
                f'<text class="chart-value" x="{_fmt(left + width + 4)}" '
                f'y="{_fmt(y + BAR_HEIGHT - 4)}">{escape(series.shown[row])}</text>'
            )
    parts.append(
        f'<line class="chart-axis" x1="{left}" y1="{top}" x2="{left}" y2="{plot_bottom}"/>'
    )
    return _frame(table, prefix, "bars", height, _bars_desc(drawn), parts)


def _bars_desc(drawn: Drawn) -> str:
    said = f"Bar chart of {drawn.series_words} by {drawn.label_title.lower()}."
    if len(drawn.labels) > 12:
        return said + f" {len(drawn.labels)} bars; the table has every value."
    rows = []
    for row, label in enumerate(drawn.labels):
        values = ", ".join(
            (f"{each.title} " if len(drawn.series) > 1 else "") + each.shown[row]
            for each in drawn.series
        )
        rows.append(f"{label}: {values}")
    return said + " " + "; ".join(rows) + "."


# ---------------------------------------------------------------------------------------
# Lines


def _line(table: Table, drawn: Drawn, prefix: str) -> str:
    legend, legend_height = _legend(drawn, prefix, bars=False)
    top = MARGIN + legend_height + 20
    bottom = top + PLOT_HEIGHT
    height = bottom + LINE_BOTTOM
    left, right = LINE_LEFT, WIDTH - LINE_RIGHT
    axis = Axis.of(drawn.top, drawn.kind)
    count = len(drawn.labels)

    def x_of(index: int) -> float:
        return (left + right) / 2 if count == 1 else left + index * (right - left) / (count - 1)

    def y_of(value: float) -> float:
        return bottom - axis.fraction(value) * PLOT_HEIGHT

    parts = [*legend]
    for tick, text in axis.ticks():
        y = _fmt(y_of(tick))
        parts.append(f'<line class="chart-grid" x1="{left}" y1="{y}" x2="{right}" y2="{y}"/>')
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{_fmt(y_of(tick) + 4)}" '
            f'text-anchor="end">{text}</text>'
        )
    parts.append(_unit(drawn.kind, x=MARGIN, y=top - 10, anchor="start", shift=0))
    stride = math.ceil(count / X_LABELS)
    for index in range(0, count, stride):
        x = _fmt(x_of(index))
        parts.append(
            f'<line class="chart-axis" x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}"/>'
        )
        parts.append(
            _text(
                "chart-tick",
                x_of(index),
                bottom + 18,
                drawn.short[index],
                X_LABEL_CHARS,
                anchor="middle",
                whole=drawn.labels[index],
            )
        )
    parts.append(f'<line class="chart-axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>')
    for index, series in enumerate(drawn.series):
        style = index % STYLES
        dash = f' stroke-dasharray="{DASHES[style]}"' if DASHES[style] else ""
        for run in _runs(series.values):
            if len(run) < 2:
                continue
            points = " ".join(f"{_fmt(x_of(i))},{_fmt(y_of(v))}" for i, v in run)
            parts.append(
                f'<polyline class="chart-line s{style}" fill="none"{dash} points="{points}"/>'
            )
        for row, value in enumerate(series.values):
            if value is None:
                continue
            what = escape(f"{drawn.labels[row]}, {series.title}: {series.shown[row]}")
            parts.append(_marker(style, x_of(row), y_of(value), f"<title>{what}</title>"))
    return _frame(table, prefix, "line", height, _line_desc(drawn), parts)


def _runs(values: Sequence[float | None]) -> Iterator[list[tuple[int, float]]]:
    """The unbroken stretches of a series: a None ends one (a gap, never a zero)."""
    run: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if value is None:
            if run:
                yield run
            run = []
        else:
            run.append((index, value))
    if run:
        yield run


def _line_desc(drawn: Drawn) -> str:
    first, last = drawn.labels[0], drawn.labels[-1]
    said = f"Line chart of {drawn.series_words} by {drawn.label_title.lower()}"
    said += f", {first} to {last}." if len(drawn.labels) > 1 else f", {first}."
    for each in drawn.series:
        known = [
            (v, shown) for v, shown in zip(each.values, each.shown, strict=True) if v is not None
        ]
        if not known:
            said += f" {each.title}: no data."
            continue
        low = min(known, key=lambda pair: pair[0])[1]
        high = max(known, key=lambda pair: pair[0])[1]
        gaps = len(each.values) - len(known)
        said += f" {each.title}: lowest {low}, highest {high}"
        said += f", no data for {gaps} of {len(each.values)}." if gaps else "."
    return said


def _marker(style: int, x: float, y: float, inside: str = "") -> str:
    size = MARKER_SIZE
    shape = MARKERS[style]
    cls = f"chart-point s{style}"
    if shape == "circle":
        return f'<circle class="{cls}" cx="{_fmt(x)}" cy="{_fmt(y)}" r="{size}">{inside}</circle>'
    if shape == "square":
        return (
            f'<rect class="{cls}" x="{_fmt(x - size)}" y="{_fmt(y - size)}" '
            f'width="{_fmt(2 * size)}" height="{_fmt(2 * size)}">{inside}</rect>'
        )
    corners = {
        "triangle": ((0, -1.2), (1.1, 0.9), (-1.1, 0.9)),
        "diamond": ((0, -1.3), (1.3, 0), (0, 1.3), (-1.3, 0)),
        "cross": (
            (-1, -0.4),
            (-0.4, -0.4),
            (-0.4, -1),
            (0.4, -1),
            (0.4, -0.4),
            (1, -0.4),
            (1, 0.4),
            (0.4, 0.4),
            (0.4, 1),
            (-0.4, 1),
            (-0.4, 0.4),
            (-1, 0.4),
        ),
        "bar": ((-1.2, -0.5), (1.2, -0.5), (1.2, 0.5), (-1.2, 0.5)),
    }[shape]
    points = " ".join(f"{_fmt(x + dx * size)},{_fmt(y + dy * size)}" for dx, dy in corners)
    return f'<polygon class="{cls}" points="{points}">{inside}</polygon>'


# ---------------------------------------------------------------------------------------
# Parts of every chart


def _frame(
    table: Table, prefix: str, style: str, height: float, desc: str, parts: list[str]
) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{style}" role="img" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" viewBox="0 0 {WIDTH} {_fmt(height)}" '
        f'font-size="{FONT_SIZE}">'
        f'<title id="{prefix}-title">{escape(table.title)}</title>'
        f'<desc id="{prefix}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def _no_data(table: Table, prefix: str) -> str:
    return _frame(
        table,
        prefix,
        "empty",
        48,
        "No data in this range.",
        [
            f'<text class="chart-empty" x="{WIDTH // 2}" y="28" text-anchor="middle">'
            "No data in this range</text>"
        ],
    )


def _defs(prefix: str, count: int) -> str:
    """One fill pattern per series of bars: a coloured ground (class s0..s5) with marks."""
    patterns = "".join(
        f'<pattern id="{prefix}-p{index}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect class="chart-ground s{index}" width="8" height="8"/>{PATTERNS[index]}</pattern>'
        for index in range(min(count, STYLES))
    )
    return f"<defs>{patterns}</defs>"


def _legend(drawn: Drawn, prefix: str, *, bars: bool) -> tuple[list[str], int]:
    """The series' keys in a row (wrapping), when there is more than one series."""
    if len(drawn.series) < 2:
        return [], 0
    parts = ['<g class="chart-legend">']
    x, row = float(MARGIN), 0
    for index, series in enumerate(drawn.series):
        style = index % STYLES
        words = min(len(series.title), LEGEND_CHARS)
        width = 2 * LEGEND_KEY + 8 + words * CHAR_WIDTH + 16
        if x + width > WIDTH and x > MARGIN:
            x, row = float(MARGIN), row + 1
        y = MARGIN + row * LEGEND_ROW
        if bars:
            parts.append(
                f'<rect class="chart-key s{style}" x="{_fmt(x)}" y="{y}" width="{LEGEND_KEY}" '
                f'height="{LEGEND_KEY}" fill="url(#{prefix}-p{style})"/>'
            )
        else:
            dash = f' stroke-dasharray="{DASHES[style]}"' if DASHES[style] else ""
            middle = y + LEGEND_KEY / 2
            parts.append(
                f'<line class="chart-line s{style}"{dash} x1="{_fmt(x)}" y1="{_fmt(middle)}" '
                f'x2="{_fmt(x + 2 * LEGEND_KEY)}" y2="{_fmt(middle)}"/>'
            )
            parts.append(_marker(style, x + LEGEND_KEY, middle))
        key_width = LEGEND_KEY if bars else 2 * LEGEND_KEY
        parts.append(
            _text(
                "chart-key-text", x + key_width + 6, y + LEGEND_KEY - 2, series.title, LEGEND_CHARS
            )
        )
        x += width
    parts.append("</g>")
    return parts, (row + 1) * LEGEND_ROW


def _unit(kind: Kind, *, x: float, y: float, anchor: str, shift: float) -> str:
    unit = UNITS.get(kind)
    if unit is None or kind is Kind.RATE:
        return ""
    return (
        f'<text class="chart-tick chart-unit" x="{_fmt(x + shift)}" y="{_fmt(y)}" '
        f'text-anchor="{anchor}">{unit}</text>'
    )


def _text(
    cls: str,
    x: float,
    y: float,
    text: str,
    limit: int,
    *,
    anchor: str = "start",
    whole: str | None = None,
) -> str:
    """A label, cut to ``limit`` characters; the whole text (or ``whole``) in its title
    when it was cut or differs."""
    full = whole if whole is not None else text
    shown = text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS
    title = f"<title>{escape(full)}</title>" if shown != full else ""
    anchor_attribute = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return (
        f'<text class="{cls}" x="{_fmt(x)}" y="{_fmt(y)}"{anchor_attribute}>'
        f"{escape(shown)}{title}</text>"
    )


# ---------------------------------------------------------------------------------------
# Numbers and labels


def _steps(largest: float, step: float) -> int:
    return math.ceil(round(largest / step, 9))


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _axis_value(value: Cell, kind: Kind) -> float | None:
    if not _is_number(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number) or math.isinf(number):
        return None
    return number * 100 if kind is Kind.RATE else number


def _label(value: Cell, kind: Kind) -> str:
    return "(none)" if value is None else display(value, kind)


def _short_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def _number(value: float) -> str:
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _fmt(value: float) -> str:
    """A coordinate to two decimals at most (the same table, the same text)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text
