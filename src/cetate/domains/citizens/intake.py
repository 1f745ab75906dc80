"""Taking in a new report: the one path that Open311 ``POST requests`` and the public
"report a problem" page both use — check the form fields, clean the photo, store the report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.concurrency import run_in_threadpool

from cetate.domains.citizens.photos import Photo, process_photo
from cetate.domains.citizens.reports import Created
from cetate.domains.citizens.runtime import CitizensRuntime
from cetate.domains.citizens.submission import check_submission

MEDIA_PATH = "/open311/v2/media"
"""Where cleaned photos are served (``{base}/open311/v2/media/{id}.{ext}``)."""


async def accept_report(
    runtime: CitizensRuntime,
    tenant: str,
    fields: Mapping[str, str],
    pairs: Iterable[tuple[str, str]],
    media: bytes | None,
    *,
    jurisdiction_id: str,
    base_url: str,
    language: str,
    client: str | None = None,
) -> Created:
    """Check ``fields`` (first value of each form field) and ``pairs`` (all of them), clean
    the ``media`` photo, store the report. Errors: Open311Error (400 bad field, 404 unknown
    service), PhotoTooLarge (413), NotAnImage (415), 429 when ``client`` (``key:{id}`` or
    ``ip:{address}``) has submitted too many reports lately (:mod:`.ratelimit`; only
    reports that passed the checks count) — nothing is stored then."""
    limits = runtime.config.limits
    code = fields.get("service_code", "").strip()
    submission = check_submission(
        fields,
        pairs,
        runtime.config.service(tenant, code),
        limits,
        has_media_file=media is not None,
    )
    photo: Photo | None = None
    if media is not None:
        photo = await run_in_threadpool(
            process_photo,
            media,
            max_bytes=limits.max_photo_bytes,
            max_dimension=limits.max_photo_dimension,
            max_pixels=limits.max_photo_pixels,
        )
    if client is not None:
        runtime.check_rate(client)
    return await run_in_threadpool(
        runtime.reports.submit,
        tenant,
        submission,
        jurisdiction_id=jurisdiction_id,
        photo=photo,
        media_base_url=base_url.rstrip("/") + MEDIA_PATH,
        language=language,
    )
