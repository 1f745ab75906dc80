"""The waste domain's console part: the bins map and the KPI page (:mod:`.pages`), their
templates (``templates/waste/``), their texts in Romanian and English, two navigation entries."""

# ruff: noqa: E501 (one message per line reads better than wrapped strings)

from __future__ import annotations

from pathlib import Path
from typing import Final

from cetate.web.registry import ConsoleDomain, NavEntry

TEMPLATES: Final = Path(__file__).parent / "templates"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "waste.nav.bins": "Waste bins",
        "waste.nav.kpi": "Waste KPIs",
        "waste.bins.title": "Waste bins",
        "waste.bins.intro": "Every bin in the colour of its fill level or of the days until it is forecast to be full.",
        "waste.bins.region": "Map of the waste bins",
        "waste.colour_by": "Colour by",
        "waste.colour.fill": "fill level",
        "waste.colour.forecast": "days to full",
        "waste.bins.count": "{count} bins",
        "waste.bins.none": "This tenant has no waste bins yet.",
        "waste.col.bin": "Bin",
        "waste.col.fill": "Fill",
        "waste.col.days": "Days to full",
        "waste.col.status": "Status",
        "waste.col.flags": "Sensor",
        "waste.no_reading": "no reading",
        "waste.not_filling": "not filling",
        "waste.invalid": "Bins that cannot be planned",
        "waste.legend.fill": "under 60 % · 60–80 % · 80 % and more",
        "waste.legend.forecast": "more than 3 days · 1–3 days · under a day",
        "waste.kpi.title": "Waste collection KPIs",
        "waste.kpi.intro": "Kilometres driven, bins emptied, average fill at emptying and overflows: the sensor-driven policy against the fixed weekly schedule.",
        "waste.kpi.none": "No results yet. Run “cetate waste simulate --tenant {tenant}” to compare the two policies.",
        "waste.kpi.source": "Simulation of {bins} bins, {trucks} trucks, {days} days (seed {seed}), run {created}. Distances are estimates (straight line × detour factor).",
        "waste.kpi.policy": "Policy",
        "waste.kpi.fixed": "Fixed weekly schedule",
        "waste.kpi.sensor": "Sensor-driven",
        "waste.kpi.km": "km",
        "waste.kpi.hours": "Hours",
        "waste.kpi.emptied": "Bins emptied",
        "waste.kpi.avg_fill": "Average fill at emptying",
        "waste.kpi.overflows": "Overflows",
        "waste.kpi.saving": "The sensor-driven policy drives {saving} fewer km.",
        "waste.kpi.trend": "Day by day",
        "waste.kpi.day": "Day",
        "waste.kpi.plans": "Stored plans",
        "waste.kpi.simulation": "Simulation",
        "waste.kpi.trucks": "Trucks",
        "waste.kpi.planned": "Bins planned",
        "waste.kpi.estimate": "distance estimated (no road network)",
    },
    "ro": {
        "waste.nav.bins": "Containere de deșeuri",
        "waste.nav.kpi": "Indicatori deșeuri",
        "waste.bins.title": "Containere de deșeuri",
        "waste.bins.intro": "Fiecare container în culoarea gradului de umplere sau a zilelor până se umple, după prognoză.",
        "waste.bins.region": "Harta containerelor de deșeuri",
        "waste.colour_by": "Culoare după",
        "waste.colour.fill": "grad de umplere",
        "waste.colour.forecast": "zile până la umplere",
        "waste.bins.count": "{count} containere",
        "waste.bins.none": "Acest client nu are încă containere de deșeuri.",
        "waste.col.bin": "Container",
        "waste.col.fill": "Umplere",
        "waste.col.days": "Zile până la umplere",
        "waste.col.status": "Stare",
        "waste.col.flags": "Senzor",
        "waste.no_reading": "fără citire",
        "waste.not_filling": "nu se umple",
        "waste.invalid": "Containere care nu pot fi planificate",
        "waste.legend.fill": "sub 60 % · 60–80 % · 80 % și peste",
        "waste.legend.forecast": "peste 3 zile · 1–3 zile · sub o zi",
        "waste.kpi.title": "Indicatorii colectării deșeurilor",
        "waste.kpi.intro": "Kilometri parcurși, containere golite, umplerea medie la golire și revărsări: politica bazată pe senzori față de programul fix săptămânal.",
        "waste.kpi.none": "Nu există încă rezultate. Rulați „cetate waste simulate --tenant {tenant}” pentru a compara cele două politici.",
        "waste.kpi.source": "Simulare cu {bins} containere, {trucks} camioane, {days} zile (sămânța {seed}), rulată la {created}. Distanțele sunt estimate (linie dreaptă × factor de ocol).",
        "waste.kpi.policy": "Politica",
        "waste.kpi.fixed": "Program fix săptămânal",
        "waste.kpi.sensor": "Pe baza senzorilor",
        "waste.kpi.km": "km",
        "waste.kpi.hours": "Ore",
        "waste.kpi.emptied": "Containere golite",
        "waste.kpi.avg_fill": "Umplerea medie la golire",
        "waste.kpi.overflows": "Revărsări",
        "waste.kpi.saving": "Politica bazată pe senzori parcurge cu {saving} mai puțini km.",
        "waste.kpi.trend": "Zi de zi",
        "waste.kpi.day": "Ziua",
        "waste.kpi.plans": "Planuri salvate",
        "waste.kpi.simulation": "Simulare",
        "waste.kpi.trucks": "Camioane",
        "waste.kpi.planned": "Containere planificate",
        "waste.kpi.estimate": "distanță estimată (fără rețea rutieră)",
    },
}


def console_domain() -> ConsoleDomain:
    """The domain as the console registry loads it."""
    from cetate.domains.waste.pages import router

    def nav(key: str) -> dict[str, str]:
        return {lang: MESSAGES[lang][key] for lang in MESSAGES}

    return ConsoleDomain(
        name="waste",
        nav=[
            NavEntry("/waste/bins", nav("waste.nav.bins"), "🗑"),
            NavEntry("/waste/kpi", nav("waste.nav.kpi"), "📊"),
        ],
        router=router,
        templates_dir=TEMPLATES,
        messages=MESSAGES,
    )
