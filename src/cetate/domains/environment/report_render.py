"""A compliance report as CSV (one row per limit value) and as a simple HTML page (English or
Romanian), data capture shown on every row."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Final

from cetate.domains.environment.compliance import ComplianceReport, LimitResult
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.pollutants import LABELS

CSV_COLUMNS: Final = (
    "station",
    "year",
    "limit_set",
    "pollutant",
    "period",
    "kind",
    "limit_value_ugm3",
    "allowed_exceedances",
    "exceedances",
    "statistic_ugm3",
    "valid_periods",
    "expected_periods",
    "data_capture_percent",
    "status",
)

TEXTS: Final = {
    "en": {
        "title": "Air quality compliance",
        "station": "Station",
        "year": "Year",
        "set": "Limit set",
        "pollutant": "Pollutant",
        "period": "Averaging",
        "limit": "Limit (µg/m³)",
        "allowed": "Allowed",
        "exceedances": "Exceedances",
        "statistic": "Mean / highest",
        "capture": "Data capture",
        "status": "Status",
        "hourly_capture": "Hourly data capture",
        "hour": "1 hour",
        "day": "1 day",
        "year_period": "calendar year",
        "max-daily-8h": "max. daily 8-hour mean",
        "compliant": "compliant",
        "exceeded": "exceeded",
        "insufficient data": "insufficient data",
        "not measured": "not measured",
    },
    "ro": {
        "title": "Conformitatea calității aerului",
        "station": "Stația",
        "year": "Anul",
        "set": "Set de valori limită",
        "pollutant": "Poluant",
        "period": "Perioada de mediere",
        "limit": "Limita (µg/m³)",
        "allowed": "Depășiri permise",
        "exceedances": "Depășiri",
        "statistic": "Medie / maxim",
        "capture": "Captură de date",
        "status": "Stare",
        "hourly_capture": "Captura datelor orare",
        "hour": "1 oră",
        "day": "1 zi",
        "year_period": "an calendaristic",
        "max-daily-8h": "maxima zilnică a mediilor pe 8 ore",
        "compliant": "conform",
        "exceeded": "depășit",
        "insufficient data": "date insuficiente",
        "not measured": "nemăsurat",
    },
}


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(report: ComplianceReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in report.results:
        writer.writerow(
            [
                report.station_id,
                report.year,
                report.limit_set.key,
                r.limit.pollutant,
                r.limit.period,
                r.limit.kind,
                _number(r.limit.value, 0),
                "" if r.limit.allowed is None else r.limit.allowed,
                "" if r.exceedances is None else r.exceedances,
                _number(r.statistic),
                r.valid_periods,
                r.expected_periods,
                _number(100 * r.data_capture),
                r.status,
            ]
        )
    return out.getvalue()


def _row(r: LimitResult, t: dict[str, str]) -> str:
    period = t["year_period"] if r.limit.period == "year" else t[r.limit.period]
    cells = [
        LABELS.get(r.limit.pollutant, r.limit.pollutant),
        period,
        _number(r.limit.value, 0),
        "" if r.limit.allowed is None else str(r.limit.allowed),
        "" if r.exceedances is None else str(r.exceedances),
        _number(r.statistic),
        f"{_number(100 * r.data_capture)} % ({r.valid_periods}/{r.expected_periods})",
    ]
    tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
    status_class = r.status.replace(" ", "-")
    return f'<tr>{tds}<td class="status {status_class}">{escape(t[r.status])}</td></tr>'


def to_html(report: ComplianceReport, lang: str = "ro") -> str:
    """A self-contained HTML page of the report."""
    if lang not in TEXTS:
        raise EnvironmentInputError(f"unsupported language {lang!r}; supported: ro, en")
    t = TEXTS[lang]
    heads = ("pollutant", "period", "limit", "allowed", "exceedances", "statistic", "capture")
    header = "".join(f"<th>{escape(t[k])}</th>" for k in (*heads, "status"))
    rows = "\n".join(_row(r, t) for r in report.results)
    capture = ", ".join(
        f"{escape(LABELS.get(p, p))} {100 * c:.1f} %"
        for p, c in sorted(report.hourly_capture.items())
    )
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(t['title'])} – {escape(report.station_id)} {report.year}</title>"
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px}"
        ".exceeded{color:#a00}.compliant{color:#060}</style></head><body>"
        f"<h1>{escape(t['title'])}</h1>"
        f"<p>{escape(t['station'])}: {escape(report.station_id)} · {escape(t['year'])}: "
        f"{report.year} · {escape(t['set'])}: {escape(report.limit_set.title)}</p>"
        f"<p>{escape(t['hourly_capture'])}: {capture or '–'}</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>\n{rows}\n</tbody></table>"
        f"<p><small>{escape(report.limit_set.source)}</small></p></body></html>\n"
    )
