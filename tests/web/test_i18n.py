"""The console's message catalogs (src/cetate/web/i18n)."""

from __future__ import annotations

import re
import string

import pytest

from cetate.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalog, load_catalog, pick_language


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_catalogs_have_the_same_keys() -> None:
    ro, en = load_catalog("ro"), load_catalog("en")
    assert set(ro) - set(en) == set(), "keys only in ro.json"
    assert set(en) - set(ro) == set(), "keys only in en.json"


def test_catalogs_have_the_same_placeholders() -> None:
    ro, en = load_catalog("ro"), load_catalog("en")
    for key in en:
        assert _placeholders(ro[key]) == _placeholders(en[key]), key


def test_no_empty_messages() -> None:
    for lang in LANGUAGES:
        assert all(v.strip() for v in load_catalog(lang).values()), lang


def test_romanian_uses_comma_below_diacritics() -> None:
    """ș and ț (comma below, U+0219/U+021B), never the Turkish cedilla forms ş ţ."""
    text = "".join(load_catalog("ro").values())
    assert not re.search("[\u015e\u015f\u0162\u0163]", text)
    for letter in "șțăîâ":
        assert letter in text, letter


def test_romanian_is_the_default() -> None:
    assert DEFAULT_LANGUAGE == "ro" == LANGUAGES[0]
    assert pick_language(None) == "ro"
    assert pick_language("xx") == "ro"
    assert pick_language("en") == "en"


def test_catalog_formats_and_falls_back() -> None:
    assert Catalog("ro")("nav.entities") == "Entități"
    assert Catalog("en")("map.count", count=3) == "3 entities on the map"
    assert Catalog("ro")("no.such.key") == "no.such.key"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown console language"):
        load_catalog("fr")
