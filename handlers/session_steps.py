"""The panel's work: identity check, documents (view, request), application data."""

from __future__ import annotations

from typing import Any

from domain.evidence import EventKind
from domain.identity import IdKind, InvalidIdNumber, validate_id
from domain.model import Appointment, StoredDocument
from domain.procedures import DEFAULT_MAX_LENGTH, validate_field
from handlers import notify
from handlers.binding import withdraw_agreement
from handlers.casework import (
    assigned,
    document_name,
    fingerprint,
    id_mismatch,
    record,
    save_details,
    shown_value,
)
from handlers.context import Audience, Ctx, Step, Takes
from handlers.identity_check import (
    checks_ok,
    expired,
    identity_requirement,
    matches,
    summary,
    today,
    verdicts,
    warnings,
)

FLOW = "session"  # these steps belong to the session's flow, beside the panel
AUDIENCE = Audience.STAFF
UPLOAD_FLOW, UPLOAD_STEP = "upload", "file"  # where a requested document is awaited
OTHER_DOCUMENT_MAX = 80  # characters of a document's name typed by the clerk


async def to_panel(ctx: Ctx) -> None:
    await ctx.go("session.panel")


# --- identity -------------------------------------------------------------------------
#
# When the citizen's identity photo has been read (handlers/identity_check.py), the step
# starts with what its machine-readable zone said and what to look at; the clerk can use
# the number read or type the one shown on camera (it is compared with the zone), and
# always confirms the face. Without a readable zone the clerk validates by sight, as
# before; the evidence says which path it was.


def _mrz(appointment: Appointment) -> dict[str, Any]:
    found = appointment.details.get("mrz")
    return found if isinstance(found, dict) else {}


async def ask_id_kind(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    for key in ("id_kind", "id_masked", "id_fp", "id_matches", "id_source"):
        ctx.data.pop(key, None)
    mrz = _mrz(appointment)
    lines = []
    options = []
    if mrz:
        lines.append(ctx.t("identity.read", summary=summary(ctx, mrz)))
        lines += [f"⚠ {w}" for w in warnings(ctx, mrz)]
        if mrz.get("status") == "read" and mrz.get("id_kind") in {k.value for k in IdKind}:
            options.append(("mrz", ctx.t("identity.use_read", masked=mrz["masked"])))
    lines.append(ctx.t("identity.which"))
    options += [(kind.value, ctx.t(f"identity.kind.{kind.value}")) for kind in IdKind]
    if not mrz or mrz.get("status") != "read":
        options.append(("photo", ctx.t("identity.ask_photo")))
    ctx.ask("\n".join(lines), options, flow=FLOW, step="id_kind", cancel=False)


async def on_id_kind(ctx: Ctx) -> None:
    if ctx.choice == "photo":
        await request_identity_photo(ctx)
        return
    if ctx.choice == "mrz":
        appointment = await assigned(ctx)
        mrz = _mrz(appointment) if appointment else {}
        if mrz.get("status") != "read":
            await ask_id_kind(ctx)
            return
        ctx.data.update(
            id_kind=mrz["id_kind"],
            id_masked=mrz["masked"],
            id_fp=mrz.get("number_fp") or mrz.get("document_fp"),
            id_matches=True,
            id_source="mrz",
        )
        await ask_face(ctx)
        return
    ctx.data["id_kind"] = ctx.choice
    await ask_id_number(ctx)


async def request_identity_photo(ctx: Ctx) -> None:
    """Ask the citizen for a photo of the document's side with the zone, at once."""
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    code = identity_requirement(ctx, appointment) or ""
    await notify.prompt(
        ctx.uow,
        citizen,
        "document_request",
        {"identity": True, "requirement": code},
        flow=UPLOAD_FLOW,
        step=UPLOAD_STEP,
        data={"id": appointment.id, "requirement": code, "identity": True},
        appointment_id=appointment.id,
    )
    await record(ctx, appointment, "document_requested", {"requirement": code or "identity"})
    ctx.say(ctx.t("identity.photo_requested"))
    await to_panel(ctx)


async def ask_id_number(ctx: Ctx) -> None:
    kind = ctx.data.get("id_kind", "dni")
    ctx.ask(ctx.t(f"identity.number.{kind}"), [], flow=FLOW, step="id_number", cancel=False)


async def on_id_number(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    try:
        number = validate_id(ctx.text, ctx.data.get("id_kind"))
    except InvalidIdNumber as invalid:
        ctx.say(ctx.t(f"identity.error.{invalid.reason}"))
        await ask_id_number(ctx)
        return
    # Only the masked number is kept, here and in the evidence, with a keyed fingerprint
    # of the whole number (the council can prove which number it was; nobody else can).
    keyed = fingerprint(ctx, number.number)
    ctx.data["id_masked"] = number.masked
    ctx.data["id_kind"] = number.kind.value
    ctx.data["id_fp"] = keyed
    ctx.data["id_matches"] = matches(_mrz(appointment), keyed)
    ctx.data["id_source"] = "typed"
    await ask_face(ctx)


async def ask_face(ctx: Ctx) -> None:
    lines = [ctx.t("identity.face", masked=ctx.data.get("id_masked", ""))]
    appointment = await assigned(ctx)
    mrz = _mrz(appointment) if appointment else {}
    if mrz:
        matched = ctx.data.get("id_matches")
        lines = [f"⚠ {w}" for w in warnings(ctx, mrz, matches_typed=matched)] + lines
    ctx.ask(
        "\n".join(lines),
        [("yes", ctx.t("identity.face_yes")), ("no", ctx.t("identity.face_no"))],
        flow=FLOW,
        step="id_face",
        cancel=False,
    )


async def on_id_face(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None or "id_masked" not in ctx.data:
        await to_panel(ctx)
        return
    verified = ctx.choice == "yes"
    mrz = _mrz(appointment)
    matched = ctx.data.pop("id_matches", None)
    # The zone backs the identity only when it was read, passed every check, is in date
    # and holds the number validated; otherwise the clerk validated by sight alone.
    by_zone = bool(mrz) and checks_ok(mrz) and not expired(mrz, today(ctx)) and matched is True
    identity = {
        "status": "verified" if verified else "mismatch",
        "kind": ctx.data.pop("id_kind"),
        "masked": ctx.data.pop("id_masked"),
        "fingerprint": ctx.data.pop("id_fp", ""),
        "path": "mrz" if by_zone else "sight",
        "at": ctx.now.isoformat(),
    }
    before = dict(appointment.details.get("identity", {}))
    before.pop("at", None)
    if before != {k: v for k, v in identity.items() if k != "at"}:
        appointment = await withdraw_agreement(ctx, appointment, "identity")
    await save_details(ctx, appointment, identity=identity)
    kind = EventKind.IDENTITY_VALIDATED if verified else "identity_rejected"
    data: dict[str, Any] = {k: identity[k] for k in ("kind", "masked", "fingerprint", "path")}
    data["source"] = ctx.data.pop("id_source", "typed")
    data["mrz"] = verdicts(ctx, mrz, matched) if mrz else None
    await record(ctx, appointment, kind, data)
    ctx.say(ctx.t("identity.verified" if verified else "identity.mismatch"))
    await to_panel(ctx)


# --- documents ------------------------------------------------------------------------


async def show_documents(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    received = await ctx.uow.documents.for_appointment(appointment.id)
    have = {d.requirement for d in received}
    requested = set(appointment.details.get("requested", []))
    lines = []
    for required in procedure.documents:
        state = (
            "received"
            if required.code in have
            else ("requested" if required.code in requested else "missing")
        )
        lines.append(ctx.t(f"docs.line.{state}", document=required.name.get(ctx.lang)))
    lines += [ctx.t("docs.line.extra", document=d.filename) for d in received if not d.requirement]
    options = [
        (
            f"view:{d.id}",
            ctx.t(
                "docs.view",
                document=document_name(ctx.office, appointment, d.requirement, ctx.lang)
                if d.requirement
                else d.filename,
            ),
        )
        for d in received
    ]
    options += [
        (f"ask:{r.code}", ctx.t("docs.request", document=r.name.get(ctx.lang)))
        for r in procedure.documents
        if r.code not in have
    ]
    options.append(("ask:", ctx.t("docs.request_other")))
    if received:
        options.append(("sort:", ctx.t("docs.sort")))
    ctx.ask(
        ctx.t("docs.title", lines="\n".join(lines) or "—"),
        options,
        flow=FLOW,
        step="documents",
        cancel=False,
    )


async def on_documents(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    choice = ctx.choice or ""
    if appointment is None:
        await to_panel(ctx)
    elif choice.startswith("view:") and choice[5:].isdigit():
        await view_document(ctx, int(choice[5:]))
    elif choice == "ask:":
        await ask_other_document(ctx)
    elif choice == "sort:":
        await ask_sort_which(ctx)
    else:
        assert choice.startswith("ask:")
        await request_document(ctx, choice[4:])


async def ask_other_document(ctx: Ctx) -> None:
    ctx.ask(ctx.t("docs.which_other"), [], flow=FLOW, step="doc_other", cancel=False)


async def on_other_document(ctx: Ctx) -> None:
    name = " ".join(ctx.text.split())
    if not name or len(name) > OTHER_DOCUMENT_MAX:
        ctx.say(ctx.t("docs.other_length", limit=OTHER_DOCUMENT_MAX))
        await ask_other_document(ctx)
        return
    await request_document(ctx, "", label=name)


def _shown_name(ctx: Ctx, appointment: Appointment, document: StoredDocument) -> str:
    if not document.requirement:
        return document.filename
    return document_name(ctx.office, appointment, document.requirement, ctx.lang)


async def ask_sort_which(ctx: Ctx) -> None:
    """The clerk corrects what a received document is (a citizen's file sent as "another
    document", or sorted under the wrong name)."""
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    received = await ctx.uow.documents.for_appointment(appointment.id)
    options = [(str(d.id), _shown_name(ctx, appointment, d)) for d in received]
    ctx.ask(ctx.t("docs.sort_which"), options, flow=FLOW, step="doc_sort", cancel=False)


async def _sorting(ctx: Ctx, raw: object) -> tuple[Appointment, StoredDocument] | None:
    appointment = await assigned(ctx)
    if appointment is None or not isinstance(raw, str) or not raw.isdigit():
        return None
    document = await ctx.uow.documents.get(int(raw))
    if document is None or document.appointment_id != appointment.id:
        return None
    return appointment, document


async def on_sort_which(ctx: Ctx) -> None:
    found = await _sorting(ctx, ctx.choice)
    if found is None:
        ctx.say(ctx.t("error.stale"))
        await show_documents(ctx)
        return
    ctx.data["sort"] = ctx.choice
    await ask_sort_as(ctx)


async def ask_sort_as(ctx: Ctx) -> None:
    found = await _sorting(ctx, ctx.data.get("sort"))
    if found is None:
        await show_documents(ctx)
        return
    appointment, document = found
    procedure = ctx.office.catalog.get(appointment.procedure)
    options = [(r.code, r.name.get(ctx.lang)) for r in procedure.documents]
    options.append(("-", ctx.t("doc.other_kind")))
    question = ctx.t("docs.sort_as", document=_shown_name(ctx, appointment, document))
    ctx.ask(question, options, flow=FLOW, step="doc_sort_as", back=True, cancel=False)


async def on_sort_as(ctx: Ctx) -> None:
    found = await _sorting(ctx, ctx.data.pop("sort", None))
    if found is None:
        ctx.say(ctx.t("error.stale"))
        await show_documents(ctx)
        return
    appointment, document = found
    requirement = "" if ctx.choice == "-" else (ctx.choice or "")
    if requirement != document.requirement:
        await ctx.uow.documents.classify(document.id, appointment.id, requirement)
        await record(
            ctx,
            appointment,
            EventKind.DOCUMENT_CLASSIFIED,
            {"document": document.id, "was": document.requirement, "now": requirement},
        )
        appointment = await withdraw_agreement(ctx, appointment, "documents")
    kind = document_name(ctx.office, appointment, requirement, ctx.lang)
    ctx.say(ctx.t("docs.sorted", document=document.filename, kind=kind))
    await show_documents(ctx)


async def view_document(ctx: Ctx, document_id: int) -> None:
    appointment = await assigned(ctx)
    document = await ctx.uow.documents.get(document_id)
    assert ctx.services is not None
    if appointment is None or document is None or document.appointment_id != appointment.id:
        ctx.say(ctx.t("error.stale"))
        await show_documents(ctx)
        return
    link = ctx.services.links.file_link(document.id, f"staff:{ctx.user.staff_id}", ctx.now)
    warnings = ", ".join(ctx.t(f"doc.quality_short.{w}") for w in document.warnings)
    ctx.say(
        ctx.t(
            "docs.link",
            document=document.filename,
            url=link,
            warnings=f" ({warnings})" if warnings else "",
        )
    )
    await show_documents(ctx)


async def request_document(ctx: Ctx, code: str, *, label: str = "") -> None:
    """Ask the citizen for a required document, or for another one the clerk named."""
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    citizen = await ctx.uow.users.get(appointment.citizen_id)
    await notify.prompt(
        ctx.uow,
        citizen,
        "document_request",
        {"requirement": code, "label": label},
        flow=UPLOAD_FLOW,
        step=UPLOAD_STEP,
        data={"id": appointment.id, "requirement": code, "label": label},
        appointment_id=appointment.id,
    )
    if code:
        requested = sorted(set(appointment.details.get("requested", [])) | {code})
        await save_details(ctx, appointment, requested=requested)
    await record(ctx, appointment, "document_requested", {"requirement": code, "label": label})
    staff_name = document_name(ctx.office, appointment, code, ctx.lang, label)
    ctx.say(ctx.t("docs.requested", document=staff_name))
    await to_panel(ctx)


# --- application data -----------------------------------------------------------------


async def ask_field(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    ctx.data["procedure"] = procedure.code
    form = appointment.details.get("form", {})
    wanted = ctx.data.get("field")
    field = procedure.field(wanted) if isinstance(wanted, str) else None
    if field is None:
        skipped = set(ctx.data.get("skipped", []))
        field = next(
            (f for f in procedure.fields if f.code not in form and f.code not in skipped), None
        )
    if field is None:
        await choose_field(ctx)
        return
    ctx.data["field"] = field.code
    label = field.label.get(ctx.lang)
    current = form.get(field.code)
    text = ctx.t("field.ask", label=label, hint=ctx.t(f"field.hint.{field.type}"))
    if current is not None:
        text += "\n" + ctx.t("field.current", value=current)
    options: list[tuple[str, str]] = []
    if field.type == "choice":
        options = [(c.code, c.label.get(ctx.lang)) for c in field.choices]
    elif field.type == "yesno":
        options = [("yes", ctx.t("field.yes")), ("no", ctx.t("field.no"))]
    if not field.required:
        options.append(("skip", ctx.t("field.skip")))
    options.append(("panel", ctx.t("field.to_panel")))
    ctx.ask(text, options, flow=FLOW, step="field", back=False, cancel=False, columns=2)


async def choose_field(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    form = appointment.details.get("form", {})
    lines = "\n".join(
        f"• {f.label.get(ctx.lang)}: "
        + (shown_value(f, form[f.code], ctx.lang) if f.code in form else "—")
        for f in procedure.fields
    )
    options = [(f"edit:{f.code}", f.label.get(ctx.lang)) for f in procedure.fields]
    options.append(("panel", ctx.t("field.to_panel")))
    ctx.ask(
        ctx.t("field.all_done", lines=lines),
        options,
        flow=FLOW,
        step="fields",
        back=False,
        cancel=False,
    )


async def on_choose_field(ctx: Ctx) -> None:
    choice = ctx.choice or ""
    if choice.startswith("edit:"):
        ctx.data["field"] = choice[5:]
        await ask_field(ctx)
    else:
        ctx.data.pop("field", None)
        await to_panel(ctx)


async def on_field(ctx: Ctx) -> None:
    appointment = await assigned(ctx)
    if appointment is None:
        await to_panel(ctx)
        return
    procedure = ctx.office.catalog.get(appointment.procedure)
    field = procedure.field(str(ctx.data.get("field", "")))
    if ctx.choice == "panel" or field is None:
        ctx.data.pop("field", None)
        await to_panel(ctx)
        return
    form = dict(appointment.details.get("form", {}))
    if ctx.choice == "skip" and not field.required:
        form.pop(field.code, None)
        ctx.data["skipped"] = sorted(set(ctx.data.get("skipped", [])) | {field.code})
        value: str | None = None
    else:
        value, error = validate_field(field, ctx.choice or ctx.text)
        if error is not None:
            limit = field.max_length or DEFAULT_MAX_LENGTH[field.type]
            ctx.say(ctx.t(f"field.error.{error}", limit=limit))
            await ask_field(ctx)
            return
    if value is not None:
        form[field.code] = value
    if form != appointment.details.get("form", {}):
        appointment = await withdraw_agreement(ctx, appointment, "data")
    appointment = await save_details(ctx, appointment, form=form)
    differs = id_mismatch(ctx.office, appointment) if field.type == "id_number" else ""
    if differs:
        ctx.say(ctx.t("field.id_differs", form=differs))
    # The evidence keeps a keyed fingerprint of the value, not the personal data itself
    # (a plain hash of an ID number or a postcode is guessed back in seconds).
    digest = fingerprint(ctx, value) if value is not None else None
    await record(ctx, appointment, EventKind.DATA_FILLED, {"field": field.code, "hmac": digest})
    ctx.data.pop("field", None)
    await ask_field(ctx)


STEPS = {
    "id_kind": Step(enter=ask_id_kind, handle=on_id_kind, back="panel"),
    "id_number": Step(enter=ask_id_number, handle=on_id_number, back="id_kind", takes=Takes.TEXT),
    "id_face": Step(enter=ask_face, handle=on_id_face, back="id_number"),
    "documents": Step(enter=show_documents, handle=on_documents, back="panel"),
    "doc_other": Step(
        enter=ask_other_document, handle=on_other_document, back="documents", takes=Takes.TEXT
    ),
    "doc_sort": Step(enter=ask_sort_which, handle=on_sort_which, back="documents"),
    "doc_sort_as": Step(enter=ask_sort_as, handle=on_sort_as, back="doc_sort"),
    "field": Step(enter=ask_field, handle=on_field, back="panel", takes=Takes.TEXT),
    "fields": Step(enter=choose_field, handle=on_choose_field, back="panel"),
}
ENTRIES = {
    "session.identity": ask_id_kind,
    "session.documents": show_documents,
    "session.data": ask_field,
}
