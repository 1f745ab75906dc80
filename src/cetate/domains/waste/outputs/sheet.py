"""A printable HTML route sheet: header figures, a static SVG sketch of the route (no map
tiles, nothing fetched) and the ordered stops with bin id, address, time and expected fill.
Print CSS keeps the table readable on A4 and repeats its header on every page."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import Environment

from cetate.domains.waste.entities import clock
from cetate.domains.waste.outputs.model import PlannedRoute

WIDTH, HEIGHT, MARGIN = 640, 420, 24

_TEMPLATE = """<!doctype html>
<html lang="ro">
<head>
<meta charset="utf-8">
<title>{{ route.name }} · {{ route.truck }} · {{ route.day.isoformat() }}</title>
<style>
body { font: 11pt/1.35 system-ui, sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 15pt; margin: 0 0 .3em; }
.figures span { margin-right: 1.4em; }
.estimate { color: #8a4b00; font-weight: 600; }
svg { border: 1px solid #999; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin-top: .8em; }
th, td { border-bottom: 1px solid #bbb; padding: .25em .4em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.site td { background: #eef; }
td.check { width: 4.5em; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { margin: 0; font-size: 10pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  svg { border: 0; }
}
</style>
</head>
<body>
<h1>{{ route.name }} — {{ route.truck }} — {{ route.day.isoformat() }}</h1>
<p class="figures">
<span>Pubele / Bins: <b>{{ route.bins|length }}</b></span>
<span>Km: <b>{{ "%.1f"|format(route.distance_m / 1000) }}</b></span>
<span>Durata / Duration: <b>{{ hours }}</b></span>
<span>Curse / Trips: <b>{{ route.trips }}</b></span>
{% if route.estimate %}<span class="estimate">Distanțe estimate (fără rețea rutieră) /
Distances are an estimate (no road network)</span>{% endif %}
</p>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ width }} {{ height }}"
 width="{{ width }}" height="{{ height }}" role="img" aria-label="route sketch">
<polyline points="{{ line }}" fill="none" stroke="#1f5fa8" stroke-width="1.6"
 stroke-linejoin="round"/>
{% for p in points %}{% if p.kind == "stop" %}<circle cx="{{ p.x }}" cy="{{ p.y }}" r="3.2"
 fill="{{ p.colour }}" stroke="#222" stroke-width=".6"><title>{{ p.seq }} {{ p.id }}</title>
</circle>
<text x="{{ p.x + 4 }}" y="{{ p.y - 4 }}" font-size="9" fill="#333">{{ p.seq }}</text>
{% else %}<rect x="{{ p.x - 5 }}" y="{{ p.y - 5 }}" width="10" height="10"
 fill="{{ '#222' if p.kind == 'depot' else '#a33' }}"><title>{{ p.kind }} {{ p.id }}</title></rect>
{% endif %}{% endfor %}
</svg>
<table>
<thead><tr><th>#</th><th>Ora / Time</th><th>Pubelă / Bin</th><th>Adresă / Address</th>
<th>Umplere / Fill</th><th>Cursa / Trip</th><th>Golită / Emptied</th></tr></thead>
<tbody>
{% for s in route.stops %}
<tr class="{{ 'bin' if s.kind == 'stop' else 'site' }}">
<td class="num">{{ s.seq }}</td><td>{{ clock(s.start_s) }}</td>
<td>{% if s.kind == 'stop' %}{{ s.id }}{% elif s.kind == 'depot' %}Depou / Depot {{ s.id }}{%
 else %}Descărcare / Unload {{ s.id }}{% endif %}</td>
<td>{{ s.address or "" }}</td>
<td class="num">{% if s.expected_fill is not none %}{{ "%.0f"|format(s.expected_fill * 100) }} %{%
 if not s.required %} (opț.){% endif %}{% endif %}</td>
<td class="num">{% if s.kind == 'stop' %}{{ s.trip + 1 }}{% endif %}</td>
<td class="check">{% if s.kind == 'stop' %}☐{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>
</body>
</html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_SHEET = _ENV.from_string(_TEMPLATE)


@dataclass(frozen=True, slots=True)
class _Point:
    seq: int
    kind: str
    id: str
    x: float
    y: float
    colour: str


def _colour(fill: float | None) -> str:
    if fill is None:
        return "#999"
    if fill >= 0.8:
        return "#c62828"
    if fill >= 0.6:
        return "#f9a825"
    return "#2e7d32"


def _projection(route: PlannedRoute) -> Callable[[float, float], tuple[float, float]]:
    """(lat, lon) → SVG (x, y): equirectangular, north up, aspect kept, the line in the box."""
    line = route.line
    cos0 = math.cos(math.radians(sum(p[0] for p in line) / len(line)))
    xs = [lon * cos0 for _, lon in line]
    ys = [lat for lat, _ in line]
    x0, y0 = min(xs), min(ys)
    span = max(max(xs) - x0, max(ys) - y0, 1e-9)
    scale = min(WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN) / span

    def project(lat: float, lon: float) -> tuple[float, float]:
        x = round(MARGIN + (lon * cos0 - x0) * scale, 1)
        return x, round(HEIGHT - MARGIN - (lat - y0) * scale, 1)

    return project


def sketch_points(route: PlannedRoute) -> list[_Point]:
    """Stops projected into the SVG box."""
    if not route.stops:
        return []
    project = _projection(route)
    return [
        _Point(s.seq, s.kind, s.id, *project(s.lat, s.lon), _colour(s.expected_fill))
        for s in route.stops
    ]


def _unpack(route: PlannedRoute) -> Callable[[tuple[float, float]], tuple[float, float]]:
    project = _projection(route)
    return lambda point: project(*point)


def route_sheet(route: PlannedRoute) -> str:
    """The route sheet of one route, a self-contained HTML page."""
    points = sketch_points(route)
    return _SHEET.render(
        route=route,
        points=points,
        line=" ".join(f"{x},{y}" for x, y in map(_unpack(route), route.line))
        if route.stops
        else "",
        width=WIDTH,
        height=HEIGHT,
        hours=f"{route.duration_s // 3600} h {route.duration_s % 3600 // 60:02d} min",
        clock=clock,
    )
