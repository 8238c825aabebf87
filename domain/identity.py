"""Identity document numbers: DNI, NIE (check letter verified) and passports.

The check letters are verified with python-stdnum (`stdnum.es.dni`, `stdnum.es.nie`):
letter = "TRWAGMYFPDXBNJZSQVHLCKE"[number mod 23], with X/Y/Z → 0/1/2 for NIEs.
Passports have no check digit we can verify: we accept 3–20 letters and digits with at
least one digit, and leave the check to the clerk who sees the document on video.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as _StdnumError


class IdKind(StrEnum):
    DNI = "dni"
    NIE = "nie"
    PASSPORT = "passport"


class IdError(StrEnum):
    """Reason codes carried by `InvalidIdNumber` (handlers translate them)."""

    EMPTY = "empty"
    BAD_FORMAT = "bad_format"
    BAD_CHECK_LETTER = "bad_check_letter"
    MISSING_CHECK_LETTER = "missing_check_letter"


class InvalidIdNumber(ValueError):
    def __init__(self, reason: IdError | str, kind: IdKind | None = None) -> None:
        super().__init__(str(reason))
        self.reason = IdError(reason)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class IdNumber:
    kind: IdKind
    number: str  # compact, uppercase: "12345678Z", "X1111111G", "PAA123456"

    @property
    def masked(self) -> str:
        return mask_id(self)

    def __str__(self) -> str:
        return self.number


_SEPARATORS = re.compile(r"[\s.\-_/]")
_DNI_SHAPE = re.compile(r"^\d{7,8}[A-Z]$")
_NIE_SHAPE = re.compile(r"^[XYZ]\d{7,8}[A-Z]$")
_DNI_NO_LETTER = re.compile(r"^\d{7,8}$")
_NIE_NO_LETTER = re.compile(r"^[XYZ]\d{7}$")
_PASSPORT = re.compile(r"^(?=.*\d)[A-Z0-9]{3,20}$")


def compact_id(raw: str) -> str:
    """Uppercase, without spaces, dots, dashes, slashes or underscores."""
    return _SEPARATORS.sub("", raw).upper()


def _check_dni(number: str) -> IdNumber:
    if not _DNI_SHAPE.match(number):
        if _DNI_NO_LETTER.match(number):
            raise InvalidIdNumber(IdError.MISSING_CHECK_LETTER, IdKind.DNI)
        raise InvalidIdNumber(IdError.BAD_FORMAT, IdKind.DNI)
    number = number.zfill(9)  # "1234567L" is the DNI 01234567L
    try:
        return IdNumber(IdKind.DNI, _dni.validate(number))
    except InvalidChecksum:
        raise InvalidIdNumber(IdError.BAD_CHECK_LETTER, IdKind.DNI) from None
    except _StdnumError:
        raise InvalidIdNumber(IdError.BAD_FORMAT, IdKind.DNI) from None


def _check_nie(number: str) -> IdNumber:
    if not _NIE_SHAPE.match(number):
        if _NIE_NO_LETTER.match(number):
            raise InvalidIdNumber(IdError.MISSING_CHECK_LETTER, IdKind.NIE)
        raise InvalidIdNumber(IdError.BAD_FORMAT, IdKind.NIE)
    if len(number) == 10:  # old form with 8 digits: X01234567L
        if number[1] != "0":
            raise InvalidIdNumber(IdError.BAD_FORMAT, IdKind.NIE)
        number = number[0] + number[2:]
    try:
        return IdNumber(IdKind.NIE, _nie.validate(number))
    except InvalidChecksum:
        raise InvalidIdNumber(IdError.BAD_CHECK_LETTER, IdKind.NIE) from None
    except _StdnumError:
        raise InvalidIdNumber(IdError.BAD_FORMAT, IdKind.NIE) from None


def _check_passport(number: str) -> IdNumber:
    if not _PASSPORT.match(number):
        raise InvalidIdNumber(IdError.BAD_FORMAT, IdKind.PASSPORT)
    return IdNumber(IdKind.PASSPORT, number)


def detect_kind(raw: str) -> IdKind:
    """Which kind a typed number looks like (no validation)."""
    number = compact_id(raw)
    if number[:1] in ("X", "Y", "Z") and number[1:2].isdigit():
        return IdKind.NIE
    if _DNI_SHAPE.match(number) or _DNI_NO_LETTER.match(number):
        return IdKind.DNI
    return IdKind.PASSPORT


def validate_id(raw: str, kind: IdKind | str | None = None) -> IdNumber:
    """Validate a DNI, NIE or passport number; detect the kind when `kind` is None.

    Tolerates lowercase, spaces, dots and dashes ("12.345.678-z"). A DNI typed without
    its leading zero ("1234567L") is accepted as 01234567L. Raises `InvalidIdNumber`
    with `reason` in `IdError`. Auto-detection: X/Y/Z + digits is a NIE; 7 or 8 digits
    with or without a letter is a DNI (a missing letter is an error, not a passport);
    anything else is a passport.
    """
    number = compact_id(raw or "")
    if not number:
        raise InvalidIdNumber(IdError.EMPTY, IdKind(kind) if kind else None)
    chosen = IdKind(kind) if kind is not None else detect_kind(number)
    if chosen is IdKind.DNI:
        return _check_dni(number)
    if chosen is IdKind.NIE:
        return _check_nie(number)
    return _check_passport(number)


def mask_id(value: IdNumber | str) -> str:
    """Mask an identity number for display and logs: ``"12345678Z" -> "****5678Z"``.

    DNI/NIE show the last four digits and the letter (5 characters); passports show at
    most their last four characters and never more than half of them. Never raises.
    """
    if isinstance(value, IdNumber):
        number, kind = value.number, value.kind
    else:
        number = compact_id(value or "")
        try:
            parsed = validate_id(number)
            number, kind = parsed.number, parsed.kind
        except InvalidIdNumber:
            kind = IdKind.PASSPORT
    visible = 5 if kind in (IdKind.DNI, IdKind.NIE) else min(4, len(number) // 2)
    hidden = max(len(number) - visible, 4)
    return "*" * hidden + (number[-visible:] if visible else "")
