"""The catalogue of procedures (tràmits) the office serves, and their application forms.

Pure: `parse_catalog` takes TOML text and returns immutable objects; `validate_field`
checks one answer typed by a person. Nothing here reads files or talks to anybody.

Catalogue format (see config/procedures.toml)::

    [[procedure]]
    code = "padro_alta"                     # [a-z][a-z0-9_]*, unique
    kind = "procedure"                      # or "information"
    duration_minutes = 30
    name = { ca = "...", es = "...", en = "..." }
    description = { ca = "...", es = "...", en = "..." }

    [[procedure.documents]]
    code = "identitat"
    name = { ca = "...", es = "...", en = "..." }
    hint = { ca = "...", es = "...", en = "..." }  # optional
    identity = true                         # optional: the photo's MRZ is read

    [[procedure.fields]]
    code = "adreca"
    type = "text"                           # see FIELD_TYPES
    required = true                         # default true
    max_length = 120                        # optional
    label = { ca = "...", es = "...", en = "..." }
    choices = [ { code = "a", label = { ca = "...", es = "...", en = "..." } } ]  # type "choice"
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal, cast, get_args

from stdnum import iban as _iban
from stdnum.exceptions import ValidationError as _StdnumError

from domain.identity import InvalidIdNumber, validate_id

DEFAULT_LANGUAGE = "ca"
LANGUAGES: tuple[str, ...] = ("ca", "es", "en")

FieldType = Literal[
    "text",
    "date",
    "number",
    "email",
    "phone",
    "choice",
    "yesno",
    "id_number",
    "postal_code",
    "iban",
]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
ProcedureKind = Literal["procedure", "information"]
PROCEDURE_KINDS: tuple[str, ...] = get_args(ProcedureKind)

#: Longest answer accepted when a field sets no max_length (per type).
DEFAULT_MAX_LENGTH: Mapping[str, int] = {
    "text": 500,
    "date": 20,
    "number": 30,
    "email": 254,
    "phone": 30,
    "choice": 200,
    "yesno": 20,
    "id_number": 30,
    "postal_code": 10,
    "iban": 50,
}

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class UnknownProcedure(KeyError):
    """No procedure with that code in the catalogue."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"unknown procedure {self.code!r}"


class CatalogError(ValueError):
    """The catalogue text is not usable; the message names the offending key."""


class FieldError(StrEnum):
    """Why an answer was refused. Handlers translate these codes into messages."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    BAD_TEXT = "bad_text"
    NOT_A_DATE = "not_a_date"
    NOT_A_NUMBER = "not_a_number"
    BAD_EMAIL = "bad_email"
    BAD_PHONE = "bad_phone"
    NOT_A_CHOICE = "not_a_choice"
    NOT_YES_NO = "not_yes_no"
    BAD_ID = "bad_id"
    BAD_POSTAL_CODE = "bad_postal_code"
    BAD_IBAN = "bad_iban"


class LocalizedText:
    """An immutable text in several languages: ``text.get("es")``.

    `get` falls back to Catalan, then to the first language given, so a missing
    translation never shows as an empty message. ``text["xx"]`` is strict.
    """

    __slots__ = ("_texts",)

    def __init__(self, texts: Mapping[str, str] | None = None, /, **kwargs: str) -> None:
        merged = dict(texts or {})
        merged.update(kwargs)
        if not merged:
            raise ValueError("a LocalizedText needs at least one language")
        self._texts: dict[str, str] = merged

    def get(self, lang: str | None = None) -> str:
        if lang is not None and lang in self._texts:
            return self._texts[lang]
        if DEFAULT_LANGUAGE in self._texts:
            return self._texts[DEFAULT_LANGUAGE]
        return next(iter(self._texts.values()))

    def __getitem__(self, lang: str) -> str:
        return self._texts[lang]

    def __contains__(self, lang: object) -> bool:
        return lang in self._texts

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._texts)

    def as_dict(self) -> dict[str, str]:
        return dict(self._texts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LocalizedText):
            return self._texts == other._texts
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._texts.items()))

    def __repr__(self) -> str:
        return f"LocalizedText({self._texts!r})"

    def __str__(self) -> str:
        return self.get(DEFAULT_LANGUAGE)


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    code: str
    name: LocalizedText
    hint: LocalizedText | None = None
    # The applicant's identity document: the machine-readable zone of its photo is read.
    identity: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    label: LocalizedText


@dataclass(frozen=True, slots=True)
class FormField:
    code: str
    label: LocalizedText
    type: FieldType
    required: bool = True
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None

    def choice(self, code: str) -> Choice | None:
        return next((c for c in self.choices if c.code == code), None)


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    kind: ProcedureKind
    name: LocalizedText
    description: LocalizedText
    duration_minutes: int
    documents: tuple[DocumentRequirement, ...] = ()
    fields: tuple[FormField, ...] = ()

    @property
    def is_information(self) -> bool:
        return self.kind == "information"

    def field(self, code: str) -> FormField | None:
        return next((f for f in self.fields if f.code == code), None)

    def document(self, code: str) -> DocumentRequirement | None:
        return next((d for d in self.documents if d.code == code), None)


class Catalog:
    """The procedures in the order the catalogue lists them (the order of the menu)."""

    __slots__ = ("_items", "_by_code")

    def __init__(self, procedures: Sequence[Procedure]) -> None:
        self._items: tuple[Procedure, ...] = tuple(procedures)
        self._by_code: dict[str, Procedure] = {}
        for procedure in self._items:
            if procedure.code in self._by_code:
                raise CatalogError(f"procedure code {procedure.code!r} appears twice")
            self._by_code[procedure.code] = procedure

    def get(self, code: str) -> Procedure:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownProcedure(code) from None

    def find(self, code: str) -> Procedure | None:
        return self._by_code.get(code)

    def requirement_name(self, procedure: str, requirement: str, language: str) -> str | None:
        """The name of one of a procedure's required documents, or None for "another
        document" (no code, or one the catalogue no longer lists)."""
        found = self.find(procedure)
        required = found.document(requirement) if found and requirement else None
        return required.name.get(language) if required else None

    def all(self) -> tuple[Procedure, ...]:
        return self._items

    def procedures(self) -> tuple[Procedure, ...]:
        """Entries of kind "procedure" (real tràmits)."""
        return tuple(p for p in self._items if p.kind == "procedure")

    def information(self) -> tuple[Procedure, ...]:
        """Entries of kind "information" (information and advice)."""
        return tuple(p for p in self._items if p.kind == "information")

    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self._items)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


# --------------------------------------------------------------------------- parsing


def _check_keys(data: Mapping[str, Any], where: str, allowed: set[str], required: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise CatalogError(
                f"{where}.{key}: unknown key (expected one of {', '.join(sorted(allowed))})"
            )
    for key in sorted(required):
        if key not in data:
            raise CatalogError(f"{where}.{key}: missing")


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: expected a table")
    return cast(Mapping[str, Any], value)


def _code(value: object, where: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise CatalogError(
            f"{where}: {value!r} is not a valid code (lowercase letters, digits and _, "
            "starting with a letter, at most 40 characters)"
        )
    return value


def _text(value: object, where: str, languages: Sequence[str]) -> LocalizedText:
    if isinstance(value, str):
        value = {DEFAULT_LANGUAGE: value}
    table = _table(value, where)
    texts: dict[str, str] = {}
    for lang, text in table.items():
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}.{lang}: expected a non-empty string")
        texts[lang] = text.strip()
    for lang in languages:
        if lang not in texts:
            raise CatalogError(f"{where}.{lang}: missing translation")
    if not texts:
        raise CatalogError(f"{where}: empty")
    return LocalizedText(texts)


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise CatalogError(f"{where}: expected a list")
    return value


def _positive_int(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CatalogError(f"{where}: expected a whole number from {low} to {high}")
    return value


def _parse_field(data: Mapping[str, Any], where: str, languages: Sequence[str]) -> FormField:
    _check_keys(
        data,
        where,
        {"code", "label", "type", "required", "choices", "max_length"},
        {"code", "label", "type"},
    )
    code = _code(data["code"], f"{where}.code")
    ftype = data["type"]
    if ftype not in FIELD_TYPES:
        raise CatalogError(
            f"{where}.type: unknown field type {ftype!r} (expected one of {', '.join(FIELD_TYPES)})"
        )
    required = data.get("required", True)
    if not isinstance(required, bool):
        raise CatalogError(f"{where}.required: expected true or false")
    max_length = None
    if "max_length" in data:
        max_length = _positive_int(data["max_length"], f"{where}.max_length", 1, 5000)
    choices: list[Choice] = []
    if ftype == "choice":
        raw_choices = _list(data.get("choices"), f"{where}.choices")
        if not raw_choices:
            raise CatalogError(f"{where}.choices: a choice field needs at least one choice")
        seen: set[str] = set()
        for j, raw in enumerate(raw_choices):
            cwhere = f"{where}.choices[{j}]"
            item = _table(raw, cwhere)
            _check_keys(item, cwhere, {"code", "label"}, {"code", "label"})
            ccode = _code(item["code"], f"{cwhere}.code")
            if ccode in seen:
                raise CatalogError(f"{cwhere}.code: {ccode!r} appears twice")
            seen.add(ccode)
            choices.append(Choice(ccode, _text(item["label"], f"{cwhere}.label", languages)))
    elif "choices" in data:
        raise CatalogError(f"{where}.choices: only fields of type 'choice' have choices")
    return FormField(
        code=code,
        label=_text(data["label"], f"{where}.label", languages),
        type=cast(FieldType, ftype),
        required=required,
        choices=tuple(choices),
        max_length=max_length,
    )


def _parse_procedure(data: Mapping[str, Any], where: str, languages: Sequence[str]) -> Procedure:
    raw_code = data.get("code")
    if isinstance(raw_code, str) and _CODE.match(raw_code):
        where = f"{where}({raw_code})"  # name the entry in every message about it
    _check_keys(
        data,
        where,
        {"code", "kind", "name", "description", "duration_minutes", "documents", "fields"},
        {"code", "name", "description", "duration_minutes"},
    )
    code = _code(data["code"], f"{where}.code")
    kind = data.get("kind", "procedure")
    if kind not in PROCEDURE_KINDS:
        raise CatalogError(f"{where}.kind: {kind!r} is not one of {', '.join(PROCEDURE_KINDS)}")
    documents: list[DocumentRequirement] = []
    doc_codes: set[str] = set()
    for i, raw in enumerate(_list(data.get("documents", []), f"{where}.documents")):
        dwhere = f"{where}.documents[{i}]"
        item = _table(raw, dwhere)
        _check_keys(item, dwhere, {"code", "name", "hint", "identity"}, {"code", "name"})
        dcode = _code(item["code"], f"{dwhere}.code")
        if dcode in doc_codes:
            raise CatalogError(f"{dwhere}.code: {dcode!r} appears twice")
        doc_codes.add(dcode)
        hint = _text(item["hint"], f"{dwhere}.hint", languages) if "hint" in item else None
        identity = item.get("identity", False)
        if not isinstance(identity, bool):
            raise CatalogError(f"{dwhere}.identity: must be true or false")
        documents.append(
            DocumentRequirement(
                dcode, _text(item["name"], f"{dwhere}.name", languages), hint, identity
            )
        )
    fields: list[FormField] = []
    field_codes: set[str] = set()
    for i, raw in enumerate(_list(data.get("fields", []), f"{where}.fields")):
        fwhere = f"{where}.fields[{i}]"
        parsed = _parse_field(_table(raw, fwhere), fwhere, languages)
        if parsed.code in field_codes:
            raise CatalogError(f"{fwhere}.code: {parsed.code!r} appears twice")
        field_codes.add(parsed.code)
        fields.append(parsed)
    return Procedure(
        code=code,
        kind=cast(ProcedureKind, kind),
        name=_text(data["name"], f"{where}.name", languages),
        description=_text(data["description"], f"{where}.description", languages),
        duration_minutes=_positive_int(
            data["duration_minutes"], f"{where}.duration_minutes", 5, 240
        ),
        documents=tuple(documents),
        fields=tuple(fields),
    )


def parse_catalog(text: str, *, languages: Sequence[str] = LANGUAGES) -> Catalog:
    """Parse the TOML catalogue. Every text must exist in each of `languages`.

    Raises `CatalogError` whose message names the offending key, e.g.
    ``procedure[2](bonificacio_ibi).fields[1].type: unknown field type 'dat' ...``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"the catalogue is not valid TOML: {exc}") from None
    _check_keys(data, "catalogue", {"procedure"}, {"procedure"})
    entries = _list(data["procedure"], "procedure")
    if not entries:
        raise CatalogError("procedure: the catalogue is empty")
    procedures: list[Procedure] = []
    seen: set[str] = set()
    for i, raw in enumerate(entries):
        where = f"procedure[{i}]"
        procedure = _parse_procedure(_table(raw, where), where, languages)
        if procedure.code in seen:
            raise CatalogError(f"{where}({procedure.code}).code: {procedure.code!r} appears twice")
        seen.add(procedure.code)
        procedures.append(procedure)
    return Catalog(procedures)


# ------------------------------------------------------------------------- validation

FieldResult = tuple[str | None, str | None]

_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_GROUPED_DOT = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")  # 1.234.567,89 (ca/es)
_GROUPED_COMMA = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,234,567.89 (en)
_YES = frozenset({"yes", "y", "si", "s", "true", "1", "d'acord", "d\u2019acord", "vale", "ok"})
_NO = frozenset({"no", "n", "false", "0"})


def _fold(text: str) -> str:
    """Case- and accent-insensitive form, for matching typed choices."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _parse_date(text: str) -> date | None:
    match = _DATE_ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DATE_DMY.match(text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _parse_number(text: str) -> str | None:
    compact = text.replace(" ", "").replace("\u00a0", "")
    if _GROUPED_DOT.match(compact):
        compact = compact.replace(".", "").replace(",", ".")
    elif _GROUPED_COMMA.match(compact) and "." in compact:
        compact = compact.replace(",", "")
    elif _NUMBER.match(compact):
        compact = compact.replace(",", ".")
    else:
        return None
    try:
        value = Decimal(compact)
    except InvalidOperation:  # pragma: no cover - the regexes only let digits through
        return None
    normal = format(value.normalize(), "f")
    return normal


def _parse_phone(text: str) -> str | None:
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if re.fullmatch(r"[6789]\d{8}", compact):
        return "+34" + compact
    if re.fullmatch(r"\+34[6789]\d{8}", compact):
        return compact
    if re.fullmatch(r"\+(?!34)[1-9]\d{6,14}", compact):
        return compact
    return None


def _parse_choice(field: FormField, text: str) -> str | None:
    for choice in field.choices:
        if text == choice.code:
            return choice.code
    folded = _fold(text)
    for choice in field.choices:
        if folded == choice.code or any(
            folded == _fold(choice.label[lang]) for lang in choice.label.languages
        ):
            return choice.code
    if text.isdigit() and 1 <= int(text) <= len(field.choices):
        return field.choices[int(text) - 1].code
    return None


def _clean_text(text: str) -> str | None:
    text = unicodedata.normalize("NFC", text)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        return None
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(lines).strip()


def validate_field(field: FormField, raw: str | None) -> FieldResult:
    """Check one answer: ``(normalised value, None)`` or ``(None, error code)``.

    An empty optional answer gives ``(None, None)``. Normal forms: dates ``YYYY-MM-DD``
    (typed as dd/mm/yyyy, d-m-yyyy, dd.mm.yyyy or yyyy-mm-dd); numbers with a dot as
    decimal separator ("1.234,5" -> "1234.5"); e-mail with a lowercase domain; phones in
    E.164 (Spanish 9-digit numbers get +34); choices as the choice code (typed as the code,
    a label in any language, or its 1-based position); yes/no as "yes"/"no"; identity
    numbers, postal codes and IBANs compact and uppercase.
    """
    text = (raw or "").strip()
    if not text:
        return (None, FieldError.REQUIRED) if field.required else (None, None)
    limit = field.max_length or DEFAULT_MAX_LENGTH[field.type]
    if len(text) > limit:
        return None, FieldError.TOO_LONG
    kind = field.type
    if kind == "text":
        cleaned = _clean_text(text)
        if cleaned is None:
            return None, FieldError.BAD_TEXT
        return cleaned, None
    if kind == "date":
        parsed = _parse_date(text)
        return (parsed.isoformat(), None) if parsed else (None, FieldError.NOT_A_DATE)
    if kind == "number":
        number = _parse_number(text)
        return (number, None) if number is not None else (None, FieldError.NOT_A_NUMBER)
    if kind == "email":
        if not _EMAIL.match(text) or ".." in text:
            return None, FieldError.BAD_EMAIL
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}", None
    if kind == "phone":
        phone = _parse_phone(text)
        return (phone, None) if phone else (None, FieldError.BAD_PHONE)
    if kind == "choice":
        code = _parse_choice(field, text)
        return (code, None) if code else (None, FieldError.NOT_A_CHOICE)
    if kind == "yesno":
        folded = _fold(text).rstrip(".!")
        if folded in _YES:
            return "yes", None
        if folded in _NO:
            return "no", None
        return None, FieldError.NOT_YES_NO
    if kind == "id_number":
        try:
            return validate_id(text).number, None
        except InvalidIdNumber:
            return None, FieldError.BAD_ID
    if kind == "postal_code":
        compact = text.replace(" ", "")
        if re.fullmatch(r"\d{5}", compact) and 1 <= int(compact[:2]) <= 52:
            return compact, None
        return None, FieldError.BAD_POSTAL_CODE
    if kind == "iban":
        try:
            return _iban.validate(text), None
        except _StdnumError:
            return None, FieldError.BAD_IBAN
    raise AssertionError(f"unhandled field type {kind!r}")  # pragma: no cover
