"""The services configuration: defaults in Romanian and English, files, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cetate.domains.citizens.config import (
    CONFIG_ENV,
    ConfigError,
    default_config,
    load_config,
    parse_config,
    pick,
)


def test_the_defaults_offer_five_categories_in_two_languages() -> None:
    config = default_config()
    codes = [s.service_code for s in config.services]
    assert codes == ["pothole", "streetlight", "illegal_dumping", "overflowing_bin", "graffiti"]
    for service in config.services:
        assert set(service.service_name) == {"ro", "en"}
        assert set(service.description) == {"ro", "en"}
    assert pick(config.services[0].service_name, "en") == "Pothole"
    assert pick(config.services[0].service_name, "ro") == "Groapă în carosabil"
    assert config.service("any", "overflowing_bin") is not None
    assert config.service("any", "overflowing_bin").attributes[0].required  # type: ignore[union-attr]


def test_a_file_gives_tenants_their_own_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = {
        "service_code": "tree",
        "service_name": {"ro": "Copac căzut", "en": "Fallen tree"},
        "description": {"en": "A tree fell"},
    }
    path = tmp_path / "citizens.json"
    path.write_text(
        json.dumps(
            {
                "services": [own],
                "tenants": {"cluj": {"services": []}},
                "jurisdictions": {"oradea.ro": "oradea"},
                "limits": {"max_photo_dimension": 640},
            }
        ),
        "utf-8",
    )
    monkeypatch.setenv(CONFIG_ENV, str(path))
    config = load_config()
    assert [s.service_code for s in config.services_for("oradea")] == ["tree"]
    assert config.services_for("cluj") == ()
    assert config.jurisdictions == {"oradea.ro": "oradea"}
    assert config.limits.max_photo_dimension == 640


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must be a JSON object"),
        ({"services": [{"service_code": "a b"}]}, "service_code 'a b'"),
        ({"services": [{"service_code": "a", "service_name": 5}]}, "service_name"),
        (
            {
                "services": [
                    {
                        "service_code": "a",
                        "service_name": "A",
                        "description": "d",
                        "attributes": [{"code": "x", "datatype": "colour", "description": "d"}],
                    }
                ]
            },
            "datatype 'colour'",
        ),
        (
            {
                "services": [
                    {
                        "service_code": "a",
                        "service_name": "A",
                        "description": "d",
                        "attributes": [
                            {"code": "x", "datatype": "singlevaluelist", "description": "d"}
                        ],
                    }
                ]
            },
            "needs values",
        ),
        ({"limits": {"max_photo_bytes": -1}}, "positive integer"),
        ({"limits": {"colour": 1}}, "unknown limit"),
        ({"default_language": "fr"}, "default_language"),
    ],
)
def test_bad_configurations_name_the_bad_part(raw: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", "utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(bad)
