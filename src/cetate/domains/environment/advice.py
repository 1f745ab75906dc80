"""Health advice per European index band, for the general public and for sensitive groups, in
Romanian and English (``data/health_advice.json``, source cited there and in the docs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from cetate.domains.environment import tables
from cetate.domains.environment.errors import EnvironmentInputError

Audience = Literal["general", "sensitive"]
LANGUAGES: Final = ("ro", "en")


@dataclass(frozen=True, slots=True)
class Advice:
    band: str
    label: str
    general: str
    sensitive: str
    lang: str


def advice(band: str, lang: str = "ro") -> Advice:
    """The advice for the band key (``good`` … ``extremely-poor``) in ``ro`` or ``en``."""
    if lang not in LANGUAGES:
        raise EnvironmentInputError(f"unsupported language {lang!r}; supported: ro, en")
    data = tables.load("health_advice")
    texts = data["bands"].get(band)
    if texts is None:
        raise EnvironmentInputError(
            f"unknown index band {band!r}; known: {', '.join(data['bands'])}"
        )
    return Advice(
        band,
        data["band_labels"][band][lang],
        texts["general"][lang],
        texts["sensitive"][lang],
        lang,
    )


def source() -> str:
    return str(tables.load("health_advice")["source"])
