"""Report tables drawn as SVG (SPEC §11): bars and lines in proportion, rates as
percentages, gaps for missing values, accessible and escaped, the same text every time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from scheduler.reports.charts import LABEL_CHARS, Axis, display, svg
from scheduler.reports.tables import Cell, Chart, Column, Kind, Table

SVG = "{http://www.w3.org/2000/svg}"


def table(
    rows: list[tuple[Cell, ...]],
    *,
    style: str = "bars",
    kinds: tuple[Kind, ...] = (Kind.COUNT,),
    label_kind: Kind = Kind.TEXT,
    titles: tuple[str, ...] | None = None,
    title: str = "Pathway funnel",
    chart: bool = True,
) -> Table:
    names = tuple(f"v{index}" for index in range(len(kinds)))
    columns = (
        Column("label", "Stage", label_kind),
        *(
            Column(name, (titles or names)[index], kind)
            for index, (name, kind) in enumerate(zip(names, kinds, strict=True))
        ),
    )
    return Table(
        name="stages",
        title=title,
        columns=columns,
        rows=tuple(rows),
        chart=Chart(style, "label", names) if chart else None,
    )


def parse(text: str | None) -> ET.Element:
    assert text is not None
    return ET.fromstring(text)  # noqa: S314 (our own output: it must be well-formed XML)


def all_of(root: ET.Element, tag: str, cls: str = "") -> list[ET.Element]:
    return [
        each for each in root.iter(SVG + tag) if not cls or cls in (each.get("class") or "").split()
    ]


def bar_widths(root: ET.Element) -> list[float]:
    return [float(each.get("width", "0")) for each in all_of(root, "rect", "chart-bar")]


def texts(root: ET.Element, cls: str) -> list[str]:
    return ["".join(each.itertext()) for each in root.iter() if cls in (each.get("class") or "")]


# ---------------------------------------------------------------------------------------
# Bars


@pytest.mark.parametrize(
    ("values", "ratios"),
    [
        ((10, 20, 5), (2, 4, 1)),
        ((1, 1, 1), (1, 1, 1)),
        ((0, 8, 2), (0, 4, 1)),
        ((3.5, 7.0, 14.0), (1, 2, 4)),
    ],
)
def test_bar_lengths_are_proportional_to_their_values(
    values: tuple[float, ...], ratios: tuple[int, ...]
) -> None:
    root = parse(svg(table([(f"Row {i}", v) for i, v in enumerate(values)])))

    widths = bar_widths(root)
    unit = max(widths) / max(ratios)
    assert widths == pytest.approx([r * unit for r in ratios], abs=0.02)


def test_rates_are_drawn_as_percentages_on_a_0_to_100_axis() -> None:
    full = svg(table([("Positive", 1.0)], kinds=(Kind.RATE,)))
    half = svg(table([("Positive", 0.5), ("Same day", 0.125)], kinds=(Kind.RATE,)))

    assert bar_widths(parse(half)) == pytest.approx(
        [bar_widths(parse(full))[0] / 2, bar_widths(parse(full))[0] / 8], abs=0.02
    )
    assert texts(parse(half), "chart-tick") == ["0%", "25%", "50%", "75%", "100%"]
    assert texts(parse(half), "chart-value") == ["50%", "12.5%"]


def test_a_missing_value_is_a_gap_not_a_zero() -> None:
    root = parse(svg(table([("Referred", 4), ("Blocked", None), ("Eligible", 0)])))

    bars = all_of(root, "rect", "chart-bar")
    assert len(bars) == 2  # Referred, and Eligible's zero-length bar
    assert [b.find(SVG + "title").text for b in bars] == [  # type: ignore[union-attr]
        "Referred, v0: 4",
        "Eligible, v0: 0",
    ]
    assert texts(root, "chart-gap") == ["no dataBlocked, v0: —"]
    assert float(bars[1].get("width", "-1")) == 0


def test_each_series_has_its_own_pattern_and_a_legend_names_them() -> None:
    root = parse(
        svg(
            table(
                [("Room 1", 0.8, 0.5), ("Room 2", 0.4, None)],
                kinds=(Kind.RATE, Kind.RATE),
                titles=("Utilization", "On-time starts"),
            )
        )
    )

    fills = [bar.get("fill") for bar in all_of(root, "rect", "chart-bar")]
    assert fills == [
        "url(#chart-stages-p0)",
        "url(#chart-stages-p1)",
        "url(#chart-stages-p0)",
    ]
    patterns = all_of(root, "pattern")
    assert [p.get("id") for p in patterns] == ["chart-stages-p0", "chart-stages-p1"]
    assert len(list(patterns[1])) > len(list(patterns[0]))  # hatched, not only coloured
    assert texts(root, "chart-key-text") == ["Utilization", "On-time starts"]


def test_one_series_needs_no_legend() -> None:
    root = parse(svg(table([("Referred", 4)])))

    assert all_of(root, "g", "chart-legend") == []


@pytest.mark.parametrize(
    ("largest", "kind", "ticks"),
    [
        (7, Kind.COUNT, [0, 2, 4, 6, 8]),
        (100, Kind.COUNT, [0, 20, 40, 60, 80, 100]),
        (101, Kind.COUNT, [0, 25, 50, 75, 100, 125]),
        (3, Kind.COUNT, [0, 1, 2, 3]),
        (1, Kind.COUNT, [0, 1]),
        (0, Kind.COUNT, [0, 1]),
        (12.3, Kind.DAYS, [0, 2.5, 5, 7.5, 10, 12.5]),
        (40, Kind.DAYS, [0, 10, 20, 30, 40]),
        (0.6, Kind.DAYS, [0, 0.2, 0.4, 0.6]),
        (480, Kind.MINUTES, [0, 100, 200, 300, 400, 500]),
        (42, Kind.RATE, [0, 25, 50, 75, 100]),
    ],
)
def test_value_axes_have_a_few_round_ticks(largest: float, kind: Kind, ticks: list[float]) -> None:
    assert [value for value, _text in Axis.of(largest, kind).ticks()] == ticks


# ---------------------------------------------------------------------------------------
# Lines


def weekly(values: list[float | None], *, kinds: tuple[Kind, ...] = (Kind.RATE,)) -> Table:
    first = date(2026, 9, 7)
    rows = [(date.fromordinal(first.toordinal() + 7 * i), v) for i, v in enumerate(values)]
    return table(rows, style="line", kinds=kinds, label_kind=Kind.DATE, title="No-shows")


def points_of(line: ET.Element) -> list[tuple[float, float]]:
    pairs = (pair.split(",") for pair in (line.get("points") or "").split())
    return [(float(x), float(y)) for x, y in pairs]


def test_a_line_goes_through_the_rows_in_order_with_a_marker_at_each_point() -> None:
    root = parse(svg(weekly([0.1, 0.3, 0.2])))

    (line,) = all_of(root, "polyline", "chart-line")
    xs = [x for x, _y in points_of(line)]
    ys = [y for _x, y in points_of(line)]
    assert xs == sorted(xs)
    assert ys[1] < ys[2] < ys[0]  # higher values are drawn higher up
    assert len(all_of(root, "circle", "chart-point")) == 3


def test_a_missing_value_breaks_the_line() -> None:
    root = parse(svg(weekly([0.1, 0.2, None, 0.4, 0.5, None, 0.3])))

    lines = all_of(root, "polyline", "chart-line")
    assert [len(points_of(line)) for line in lines] == [2, 2]  # the lone 0.3: a marker only
    assert len(all_of(root, "circle", "chart-point")) == 5
    desc = root.find(SVG + "desc")
    assert desc is not None
    assert "no data for 2 of 7" in (desc.text or "")


def test_a_zero_is_drawn_on_the_axis() -> None:
    root = parse(svg(weekly([0.0, 0.5])))

    (line,) = all_of(root, "polyline", "chart-line")
    zero, half = points_of(line)
    bottom = max(float(g.get("y1", "0")) for g in all_of(root, "line", "chart-grid"))
    assert zero[1] == bottom
    assert half[1] < zero[1]


def test_series_of_a_line_chart_differ_by_dash_and_marker_not_only_colour() -> None:
    rows = [(date(2026, 9, 7), 1, 2, 3), (date(2026, 9, 14), 2, 3, 4)]
    root = parse(
        svg(
            table(
                rows,
                style="line",
                kinds=(Kind.COUNT,) * 3,
                label_kind=Kind.DATE,
                titles=("Booked", "No-shows", "Late cancellations"),
            )
        )
    )

    lines = [line for line in all_of(root, "polyline") if "chart-line" in line.get("class", "")]
    assert len({line.get("stroke-dasharray") for line in lines}) == 3
    marker_tags = {
        each.tag
        for each in root.iter()
        if "chart-point" in (each.get("class") or "") and each.find(SVG + "title") is not None
    }
    assert marker_tags == {SVG + "circle", SVG + "rect", SVG + "polygon"}
    assert texts(root, "chart-key-text") == ["Booked", "No-shows", "Late cancellations"]


def test_dates_along_the_x_axis_are_short_with_the_whole_date_in_a_title() -> None:
    root = parse(svg(weekly([0.1, 0.2])))

    ticks = [t for t in all_of(root, "text", "chart-tick") if t.find(SVG + "title") is not None]
    assert [(t.text, t.find(SVG + "title").text) for t in ticks] == [  # type: ignore[union-attr]
        ("7 Sep", "2026-09-07"),
        ("14 Sep", "2026-09-14"),
    ]


def test_a_long_range_labels_only_some_points() -> None:
    root = parse(svg(weekly([0.1] * 53)))

    labelled = [t for t in all_of(root, "text", "chart-tick") if t.find(SVG + "title") is not None]
    assert 4 <= len(labelled) <= 8
    assert len(all_of(root, "circle", "chart-point")) == 53


def test_a_single_row_is_a_marker_without_a_line() -> None:
    root = parse(svg(weekly([0.4])))

    assert all_of(root, "polyline", "chart-line") == []
    assert len(all_of(root, "circle", "chart-point")) == 1


# ---------------------------------------------------------------------------------------
# Accessible, escaped, deterministic


@pytest.mark.parametrize("style", ["bars", "line"])
def test_a_chart_is_an_image_named_by_its_title_and_description(style: str) -> None:
    text = svg(table([("Referred", 4), ("Blocked", 2)], style=style), ident="funnel-stages")
    root = parse(text)

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-funnel-stages-title chart-funnel-stages-desc"
    title, desc = root.find(SVG + "title"), root.find(SVG + "desc")
    assert title is not None
    assert desc is not None
    assert (title.get("id"), title.text) == ("chart-funnel-stages-title", "Pathway funnel")
    assert desc.get("id") == "chart-funnel-stages-desc"
    assert "Referred" in (desc.text or "")
    assert re.fullmatch(r"0 0 520 \d+(\.\d+)?", root.get("viewBox", ""))
    assert root.get("width") is None  # the page's CSS sizes it: it scales on a phone
    assert " style=" not in (text or "")  # the CSP forbids inline styles
    assert "<script" not in (text or "")


def test_the_description_of_bars_reads_every_value() -> None:
    root = parse(svg(table([("Referred", 4), ("Blocked", None)])))

    assert root.findtext(SVG + "desc") == "Bar chart of v0 by stage. Referred: 4; Blocked: —."


@pytest.mark.parametrize("style", ["bars", "line"])
@pytest.mark.parametrize(
    "hostile",
    ['<script>alert("x")</script>', "Smith & Wesson's", "]]><!-- -->", '"><svg onload=1>'],
)
def test_every_text_from_the_table_is_escaped(style: str, hostile: str) -> None:
    text = svg(
        table(
            [(hostile, 1, 2), ("Other", 3, 4)],
            style=style,
            kinds=(Kind.COUNT, Kind.COUNT),
            titles=(hostile, "Second"),
            title=hostile,
        ),
        ident=hostile,
    )
    root = parse(text)

    assert "<script" not in (text or "")
    assert "<svg onload" not in (text or "")
    assert root.findtext(SVG + "title") == hostile
    assert any(hostile in "".join(each.itertext()) for each in root.iter(SVG + "text"))
    assert re.fullmatch(r"chart-[A-Za-z0-9_-]+-title", root[0].get("id", ""))


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("Short", "Short"),
        ("Twenty-two characters!", "Twenty-two characters!"),  # LABEL_CHARS: fits
        ("Declined after the diagnostic block because of cost", "Declined after the di…"),
    ],
)
def test_long_labels_are_cut_with_the_whole_text_in_a_title(label: str, shown: str) -> None:
    root = parse(svg(table([(label, 1)])))

    (text,) = all_of(root, "text", "chart-label")
    assert len(text.text or "") <= LABEL_CHARS
    assert text.text == shown
    title = text.find(SVG + "title")
    assert (title.text if title is not None else label) == label


@pytest.mark.parametrize(
    "rows",
    [[], [("Referred", None), ("Blocked", None)]],
    ids=["no rows", "no values"],
)
def test_a_table_with_nothing_to_draw_gives_a_short_no_data_picture(
    rows: list[tuple[Cell, ...]],
) -> None:
    root = parse(svg(table(rows), ident="funnel-stages"))

    assert root.get("role") == "img"
    assert "".join(root.itertext()).endswith("No data in this range")
    assert root.get("viewBox") == "0 0 520 48"
    assert all_of(root, "rect") == []


def test_a_table_without_a_chart_has_no_picture() -> None:
    assert svg(table([("Referred", 4)], chart=False)) is None


def test_the_same_table_always_gives_the_same_text() -> None:
    def build() -> str | None:
        return svg(
            table(
                [("Room 1", 0.8123, 0.5), ("Room 2", None, 0.25)],
                kinds=(Kind.RATE, Kind.RATE),
                titles=("Utilization", "On time"),
            )
        )

    assert build() == build()
    assert svg(weekly([0.1, None, 0.3])) == svg(weekly([0.1, None, 0.3]))


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (None, Kind.RATE, "—"),
        (0.5, Kind.RATE, "50%"),
        (0.12345, Kind.RATE, "12.3%"),
        (1.0, Kind.RATE, "100%"),
        (0.0, Kind.RATE, "0%"),
        (12, Kind.COUNT, "12"),
        (1234, Kind.COUNT, "1,234"),
        (12.25, Kind.DAYS, "12.2"),
        (3, Kind.DAYS, "3.0"),
        (95.4, Kind.MINUTES, "95"),
        (date(2026, 9, 1), Kind.DATE, "2026-09-01"),
        ("Room 1", Kind.TEXT, "Room 1"),
    ],
)
def test_values_are_written_by_their_kind(value: Cell, kind: Kind, text: str) -> None:
    assert display(value, kind) == text
