"""Message catalogs of the console: one flat JSON object per language (``ro.json``, ``en.json``).

Keys are dotted names (``nav.home``); values may hold ``{name}`` placeholders filled by
:meth:`Catalog.text`. Romanian is the default language; both catalogs carry the same keys (a test
checks it). A key missing from one language falls back to English, then to the key itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Final

LANGUAGES: Final = ("ro", "en")
"""Languages of the console, the default first."""

DEFAULT_LANGUAGE: Final = "ro"

LANGUAGE_NAMES: Final = {"ro": "Română", "en": "English"}


@cache
def load_catalog(lang: str) -> Mapping[str, str]:
    """The messages of one language, as shipped in this package."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown console language {lang!r}; known: {', '.join(LANGUAGES)}")
    text = resources.files(__name__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"catalog {lang}.json must be a flat object of strings")
    return data


def pick_language(value: str | None) -> str:
    """A supported language for a cookie or parameter value; the default otherwise."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


class Catalog:
    """Messages of one language, with English and then the key as fallbacks."""

    def __init__(self, lang: str) -> None:
        self.lang = pick_language(lang)
        self._messages = load_catalog(self.lang)
        self._fallback = load_catalog("en")

    def text(self, key: str, **values: object) -> str:
        message = self._messages.get(key) or self._fallback.get(key) or key
        return message.format(**values) if values else message

    __call__ = text
