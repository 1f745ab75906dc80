"""Moderation of what a report makes public (its description and address): a filter for
profanity (Romanian and English word lists, ``moderation_words.json``, written for the
project) and personal data (e-mail addresses, phone numbers, Romanian CNP with a valid check
digit, Romanian identity-card series and number).

A report whose text matches waits for a moderator: its entity has ``moderation`` =
``pending`` and it is not public (not in Open311 answers, not on the public map) until a
moderator approves it (optionally with the text redacted); a rejection also rejects the report
(workflow status ``rejected`` with the reason). Clean reports get ``approved`` at once. What
matched is kept for staff in the ``citizen-workflow`` record (``moderation.flags``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

ModerationState = Literal["approved", "pending", "rejected"]
FlagKind = Literal["profanity", "email", "phone", "cnp", "id_number"]
ATTRIBUTE: Final = "moderation"
"""The entity attribute (Cetate, default vocabulary) holding the :data:`ModerationState`."""

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE: Final = re.compile(r"(?<![\w+])\+?\d[\d\s().\-/]{7,}\d(?!\w)")
_CNP: Final = re.compile(r"(?<!\d)[1-9]\d{12}(?!\d)")
_ID_CARD: Final = re.compile(
    r"(?<![A-Za-z])(?:seria\s+)?[A-Z]{2}\s*(?:nr\.?|no\.?|num[aă]r(?:ul)?)?\s*\d{6}(?!\d)"
)
_CNP_KEY: Final = "279146358279"
_WORD: Final = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_LEET: Final = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s"})


@dataclass(frozen=True, slots=True)
class Flag:
    """One match: its kind and the text that matched (for the moderator only)."""

    kind: FlagKind
    match: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "match": self.match}


@dataclass(frozen=True, slots=True)
class WordList:
    words: frozenset[str]
    prefixes: tuple[str, ...]

    def hit(self, word: str) -> bool:
        return word in self.words or word.startswith(self.prefixes)


@cache
def word_list() -> WordList:
    """The Romanian and English words of ``moderation_words.json``, as one list."""
    text = resources.files(__package__).joinpath("moderation_words.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)
    entries = [normalize(str(w)) for lang in ("ro", "en") for w in raw[lang]]
    return WordList(
        words=frozenset(w for w in entries if not w.endswith("*")),
        prefixes=tuple(w[:-1] for w in entries if w.endswith("*")),
    )


def normalize(text: str) -> str:
    """Lower case without diacritics (``Căcat`` → ``cacat``, ``ş``/``ș`` → ``s``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _cnp_valid(digits: str) -> bool:
    total = sum(int(d) * int(k) for d, k in zip(digits[:12], _CNP_KEY, strict=True))
    check = total % 11
    return (1 if check == 10 else check) == int(digits[12])


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def screen(text: str | None) -> list[Flag]:
    """What in ``text`` must not be published without a moderator (empty: clean)."""
    if not text:
        return []
    flags: list[Flag] = []
    rest = text
    for match in _EMAIL.finditer(text):
        flags.append(Flag("email", match.group()))
        rest = rest.replace(match.group(), " ")
    for match in _CNP.finditer(rest):
        if _cnp_valid(match.group()):
            flags.append(Flag("cnp", match.group()))
            rest = rest.replace(match.group(), " ")
    for match in _ID_CARD.finditer(rest):
        flags.append(Flag("id_number", match.group().strip()))
        rest = rest.replace(match.group(), " ")
    for match in _PHONE.finditer(rest):
        if 9 <= len(_digits(match.group())) <= 15:
            flags.append(Flag("phone", match.group().strip()))
    words = word_list()
    for match in _WORD.finditer(normalize(text)):
        word = match.group()
        variants = {word, word.translate(_LEET)}
        parts = {part for variant in variants for part in variant.split("-")}
        if any(words.hit(candidate) for candidate in variants | parts):
            flags.append(Flag("profanity", word))
    return flags


def screen_all(*texts: str | None) -> list[Flag]:
    """:func:`screen` over several texts (description, address), in order."""
    return [flag for text in texts for flag in screen(text)]
