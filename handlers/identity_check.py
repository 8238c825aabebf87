"""What the identity photo's machine-readable zone said, kept on the appointment for the
clerk's identity step and the evidence.

Shared by the citizen's upload (documents) and the clerk's identity step (session_steps);
not a conversation. Kept in `appointment.details["mrz"]`: the document type, the masked
numbers and their keyed fingerprints, expiry, nationality and the verdicts. Never the
raw zone, the birth date, the sex or the names; the full number only where the procedure's
form asks for it (pre-filled, never overwritten).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.evidence import EventKind
from domain.identity import IdKind, mask_id
from domain.model import Appointment
from domain.mrz import DocumentType, MrzReading
from handlers.casework import record, save_details
from handlers.context import Ctx
from handlers.ports import IdentityPhoto

# A document whose expiry reads further ahead than this is misread (or a "99" that is
# not a Spanish DNI for life): no document is issued for longer.
MAX_VALIDITY_YEARS = 16


def identity_requirement(ctx: Ctx, appointment: Appointment) -> str | None:
    """The code of the procedure's identity document, if it asks for one."""
    procedure = ctx.office.catalog.get(appointment.procedure)
    return next((d.code for d in procedure.documents if d.identity), None)


def today(ctx: Ctx) -> date:
    return ctx.now.astimezone(ctx.office.tz).date()


def _kind(reading: MrzReading) -> str:
    if reading.id_number is not None:
        return reading.id_number.kind.value
    return IdKind.PASSPORT.value if reading.document_type is DocumentType.PASSPORT else "other"


async def keep_reading(
    ctx: Ctx, appointment: Appointment, document_id: int, sha256: str, photo: IdentityPhoto
) -> dict[str, Any]:
    """Keep what an identity photo gave. A photo that could not be read does not replace
    an earlier one that could."""
    assert ctx.services is not None
    fingerprint = ctx.services.fingerprints.of
    earlier = appointment.details.get("mrz", {})
    if photo.reading is None and earlier.get("status") == "read":
        return dict(earlier)
    kept: dict[str, Any] = {
        "document": document_id,
        "sha256": sha256,
        "status": photo.status,
        "hint": photo.hint,
        "at": ctx.now.isoformat(),
    }
    reading = photo.reading
    if reading is not None:
        number = reading.id_number
        kept |= {
            "type": reading.document_type.value,
            "id_kind": _kind(reading),
            "masked": number.masked if number else mask_id(reading.document_number),
            "number_fp": fingerprint(number.number) if number else None,
            "document_masked": mask_id(reading.document_number),
            "document_fp": fingerprint(reading.document_number),
            "issuing_state": reading.issuing_state,
            "nationality": reading.nationality,
            "expiry": reading.expiry.isoformat() if reading.expiry else None,
            "permanent": reading.permanent,
            "failed_checks": list(reading.failed_checks),
            "layout_errors": list(reading.layout_errors),
            "id_letter": reading.id_letter_ok,
            "corrected": reading.corrected,
        }
    await save_details(ctx, appointment, mrz=kept)
    return kept


async def prefill_form(ctx: Ctx, appointment: Appointment, reading: MrzReading) -> str | None:
    """Fill the form's identity-number field from a reading that passed every check, if
    it is empty. Returns the field's code when it already held another number (it is
    left as it was, and the clerk is told)."""
    assert ctx.services is not None
    if not reading.valid:
        return None
    if reading.id_number is not None:
        number = reading.id_number.number
    elif reading.document_type in (DocumentType.PASSPORT, DocumentType.ID_CARD):
        number = reading.document_number
    else:
        return None
    procedure = ctx.office.catalog.get(appointment.procedure)
    field = next((f for f in procedure.fields if f.type == "id_number"), None)
    if field is None:
        return None
    current = await ctx.uow.appointments.get(appointment.id)
    assert current is not None
    form = dict(current.details.get("form", {}))
    if field.code in form:
        return None if form[field.code] == number else field.code
    form[field.code] = number
    await save_details(ctx, current, form=form)
    await record(
        ctx,
        current,
        EventKind.DATA_FILLED,
        {"field": field.code, "source": "mrz", "fingerprint": ctx.services.fingerprints.of(number)},
    )
    return None


def checks_ok(mrz: dict[str, Any]) -> bool:
    return (
        mrz.get("status") == "read"
        and not mrz.get("failed_checks")
        and not mrz.get("layout_errors")
        and mrz.get("id_letter") is not False
    )


def expiry_of(mrz: dict[str, Any]) -> date | None:
    raw = mrz.get("expiry")
    return date.fromisoformat(raw) if isinstance(raw, str) else None


def expired(mrz: dict[str, Any], on: date) -> bool:
    expiry = expiry_of(mrz)
    return not mrz.get("permanent") and expiry is not None and expiry < on


def implausible_expiry(mrz: dict[str, Any], on: date) -> bool:
    expiry = expiry_of(mrz)
    return (
        not mrz.get("permanent")
        and expiry is not None
        and expiry.year > on.year + MAX_VALIDITY_YEARS
    )


def summary(ctx: Ctx, mrz: dict[str, Any]) -> str:
    """ "DNI · ****5678Z · valid until 05/2031 · check digits ✔", for the clerk."""
    if mrz.get("status") != "read":
        return ctx.t(f"mrz.status.{mrz.get('status', 'not_found')}")
    expiry = expiry_of(mrz)
    if mrz.get("permanent"):
        until = ctx.t("mrz.permanent")
    elif expiry is not None:
        until = ctx.t("mrz.until", date=f"{expiry:%m/%Y}")
    else:
        until = ctx.t("mrz.no_expiry")
    parts = [
        ctx.t(f"mrz.type.{mrz['type']}"),
        mrz["masked"],
        until,
        ctx.t("mrz.checks_ok" if checks_ok(mrz) else "mrz.checks_failed"),
    ]
    return " · ".join(parts)


def warnings(ctx: Ctx, mrz: dict[str, Any], *, matches_typed: bool | None = None) -> list[str]:
    """What the clerk must look at before validating: each a line of its own."""
    on = today(ctx)
    out = []
    status = mrz.get("status")
    if status == "front_side":
        out.append(ctx.t("mrz.warn.front_side"))
    elif status in ("unreadable", "not_found"):
        out.append(ctx.t("mrz.warn.unreadable"))
    if status != "read":
        return out
    if expired(mrz, on):
        expiry = expiry_of(mrz)
        assert expiry is not None
        out.append(ctx.t("mrz.warn.expired", date=f"{expiry:%d/%m/%Y}"))
    if implausible_expiry(mrz, on):
        out.append(ctx.t("mrz.warn.implausible_expiry"))
    for name in mrz.get("failed_checks", []):
        out.append(ctx.t("mrz.warn.check_digit", field=ctx.t(f"mrz.field.{name}")))
    if mrz.get("layout_errors"):
        fields = ", ".join(ctx.t(f"mrz.field.{name}") for name in mrz["layout_errors"])
        out.append(ctx.t("mrz.warn.layout", fields=fields))
    if mrz.get("id_letter") is False:
        out.append(ctx.t("mrz.warn.id_letter"))
    if matches_typed is False:
        out.append(ctx.t("mrz.warn.typed_differs", masked=mrz["masked"]))
    if mrz.get("form_differs"):
        out.append(ctx.t("mrz.warn.form_differs"))
    return out


def matches(mrz: dict[str, Any], fingerprint: str) -> bool | None:
    """Whether a typed number is the one the zone holds (None: nothing was read)."""
    if mrz.get("status") != "read":
        return None
    return fingerprint in (mrz.get("number_fp"), mrz.get("document_fp"))


def verdicts(ctx: Ctx, mrz: dict[str, Any], matches_typed: bool | None) -> dict[str, Any]:
    """The zone's verdicts for the identity record (no personal data but fingerprints)."""
    on = today(ctx)
    read = mrz.get("status") == "read"
    return {
        "document_sha256": mrz.get("sha256"),
        "status": mrz.get("status"),
        "check_digits": ("pass" if not mrz.get("failed_checks") else "fail") if read else None,
        "failed_checks": mrz.get("failed_checks", []),
        "layout": ("pass" if not mrz.get("layout_errors") else "fail") if read else None,
        "id_letter": {True: "pass", False: "fail", None: None}[mrz.get("id_letter")],
        "expiry": mrz.get("expiry"),
        "expired": expired(mrz, on) if read else None,
        "matches_typed": matches_typed,
        "number_fingerprint": mrz.get("number_fp") or mrz.get("document_fp"),
    }
