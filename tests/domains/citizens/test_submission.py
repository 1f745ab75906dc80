"""Checking POST requests forms: attribute datatypes the default services do not use
(multivaluelist, datetime, text), and the location rules."""

from __future__ import annotations

import pytest

from cetate.domains.citizens.config import Limits, parse_config
from cetate.domains.citizens.errors import Open311Error
from cetate.domains.citizens.submission import check_submission

SERVICE = parse_config(
    {
        "services": [
            {
                "service_code": "noise",
                "service_name": {"ro": "Zgomot", "en": "Noise"},
                "description": {"en": "Noise at night"},
                "attributes": [
                    {
                        "code": "sources",
                        "datatype": "multivaluelist",
                        "description": {"en": "What makes the noise?"},
                        "values": [{"key": k, "name": k} for k in ("music", "traffic", "works")],
                    },
                    {"code": "since", "datatype": "datetime", "description": {"en": "Since"}},
                    {"code": "details", "datatype": "text", "description": {"en": "Details"}},
                ],
            }
        ]
    }
).services[0]


def _check(**fields: str) -> dict[str, object]:
    form = {"service_code": "noise", "address_string": "Str. Republicii 1", **fields}
    pairs = list(form.items())
    return check_submission(form, pairs, SERVICE, Limits(), has_media_file=False).attributes


def test_multivaluelist_datetime_and_text() -> None:
    form = {"service_code": "noise", "address_id": "A-1"}
    pairs = [
        *form.items(),
        ("attribute[sources][]", "traffic"),
        ("attribute[sources][]", "music"),
        ("attribute[since]", "2026-11-23T22:00:00+02:00"),
        ("attribute[details]", "line one\nline two"),
    ]
    checked = check_submission(form, pairs, SERVICE, Limits(), has_media_file=False)
    assert checked.attributes == {
        "sources": ["music", "traffic"],
        "since": "2026-11-23T20:00:00.000Z",
        "details": "line one\nline two",
    }
    assert checked.address_id == "A-1"
    assert checked.lat is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"attribute[sources][]": "birds"}, "'birds' not among the values"),
        (
            {"attribute[since]": "last night"},
            r"attribute\[since\]: .last night. is not an ISO 8601",
        ),
        ({"attribute[details]": "x" * 4001}, "at most 4000"),
    ],
)
def test_bad_attribute_values(fields: dict[str, str], message: str) -> None:
    with pytest.raises(Open311Error, match=message) as error:
        _check(**fields)
    assert error.value.status == 400


def test_unknown_service_and_personal_fields() -> None:
    with pytest.raises(Open311Error, match="'noise' is not one"):
        check_submission({"service_code": "noise"}, [], None, Limits(), has_media_file=False)
    checked = check_submission(
        {"service_code": "noise", "lat": "47", "long": "21.9", "device_id": "phone-1"},
        [],
        SERVICE,
        Limits(),
        has_media_file=False,
    )
    assert checked.reporter == {"device_id": "phone-1"}
    assert (checked.lat, checked.long) == (47.0, 21.9)
