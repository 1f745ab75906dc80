"""Device profiles: the measurement mapping of device payloads onto NGSI-LD entities.

:mod:`.model` is the profile document (pydantic, validated, with warnings); :mod:`.mapping`
turns a payload into stored-form attribute instances or rejection reasons. Pure: no I/O.
See ``docs/device-profiles.md``.
"""

from __future__ import annotations

from cetate.ingest.profiles.mapping import (
    REASON_CODES,
    CompiledProfile,
    MappingResult,
    Reading,
    ReasonCode,
    Rejection,
    check_profile,
    compile_profile,
    map_payload,
)
from cetate.ingest.profiles.model import (
    DeviceProfile,
    InvalidProfile,
    LinearConversion,
    MeasurementMapping,
    TimestampSpec,
    load_profile,
    profile_warnings,
)

__all__ = [
    "REASON_CODES",
    "CompiledProfile",
    "DeviceProfile",
    "InvalidProfile",
    "LinearConversion",
    "MappingResult",
    "MeasurementMapping",
    "Reading",
    "ReasonCode",
    "Rejection",
    "TimestampSpec",
    "check_profile",
    "compile_profile",
    "load_profile",
    "map_payload",
    "profile_warnings",
]
