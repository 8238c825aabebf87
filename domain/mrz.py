"""Machine-readable zones (ICAO Doc 9303): TD1 cards (DNI, TIE) and TD3 passports.

Pure: text in, fields and verdicts out. `read_mrz(lines)` takes the lines an OCR engine
returned, fixes what the layout makes certain, and says what was read and what holds:

- **check digits** (Part 3 §4.9: weights 7-3-1, digits as themselves, A-Z as 10-35, `<`
  as 0) of the document number, birth date, expiry, personal number and the composite;
- **the character class of every position and the filler runs**, because `<`, `0`, `A`,
  `K` and `U` all weigh 0 mod 10: a `K` read for a `<` passes every check digit, so a
  check digit alone proves little;
- **the DNI/NIE check letter** of the number in the optional data (only the composite
  digit covers that field).

Spanish documents (reference/identity.md §2): the DNI 3.0/4.0 and the TIE put the
*support* number in the document-number field and the DNI or NIE in line 1's optional
data; a pre-2006 DNI put the DNI itself in the document-number field; a passport carries
its own number and, in the personal-number field, usually the holder's DNI (a minor's may
carry a parent's, so the clerk compares).

What is kept (`MrzReading`): document type, issuing state, document number, DNI/NIE,
expiry, nationality and the verdicts. Birth date, sex and names are read only to check
the digits and the layout and are not returned (data minimisation).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.identity import IdKind, IdNumber, InvalidIdNumber, validate_id

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
_VALUES = {c: (i if c != "<" else 0) for i, c in enumerate(ALPHABET)}
_WEIGHTS = (7, 3, 1)


def check_digit(text: str) -> str:
    """The Doc 9303 check digit of `text` ("520727" -> "3")."""
    total = 0
    for i, char in enumerate(text):
        if char not in _VALUES:
            raise ValueError(f"not an MRZ character: {char!r}")
        total += _VALUES[char] * _WEIGHTS[i % 3]
    return str(total % 10)


class MrzFormat(StrEnum):
    TD1 = "td1"  # ID-1 card: 3 lines of 30
    TD3 = "td3"  # passport data page: 2 lines of 44


SHAPES: dict[MrzFormat, tuple[int, int]] = {MrzFormat.TD1: (3, 30), MrzFormat.TD3: (2, 44)}

# Class of every position, per line. a: letter or filler; L: letter; n: digit;
# b: digit or filler (unknown birth-date parts); k: check digit or filler; s: sex;
# x: letter, digit or filler.
_TEMPLATES: dict[MrzFormat, tuple[str, ...]] = {
    MrzFormat.TD1: (
        "Laaaa" + "x" * 9 + "k" + "x" * 15,
        "b" * 6 + "n" + "s" + "n" * 6 + "n" + "aaa" + "x" * 11 + "n",
        "a" * 30,
    ),
    MrzFormat.TD3: (
        "Laaaa" + "a" * 39,
        "x" * 9 + "n" + "aaa" + "b" * 6 + "n" + "s" + "n" * 6 + "n" + "x" * 14 + "k" + "n",
    ),
}
_CLASS_CHARS = {
    "a": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ<"),
    "L": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "n": frozenset("0123456789"),
    "b": frozenset("0123456789<"),
    "k": frozenset("0123456789<"),
    "s": frozenset("FMX<"),
    "x": frozenset(ALPHABET),
}
# Shapes OCR confuses, fixed only where the position admits just one of the two. Every
# position fixed this way is covered by a check digit or a check letter, which then
# confirms or refutes the fix.
_TO_DIGIT = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "I": "1",
    "L": "1",
    "Z": "2",
    "S": "5",
    "G": "6",
    "B": "8",
}
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}

_NAME = re.compile(r"^[A-Z]+(<[A-Z]+)*(<<[A-Z]+(<[A-Z]+)*)?<*$")
# Optional data: words joined by single fillers, then fillers only. A `K` read inside
# a filler run ("...Z<<K<<") is refused; one next to a word cannot be told apart.
_OPTIONAL = re.compile(r"^([A-Z0-9]+(<[A-Z0-9]+)*)?<*$")
_NUMBER = re.compile(r"^[A-Z0-9]+<*$")
_STATE = re.compile(r"^[A-Z]{1,3}<*$")
_DNI = re.compile(r"^\d{8}[A-Z]$")
_NIE = re.compile(r"^[XYZ]\d{7}[A-Z]$")
_DNI_SUPPORT = re.compile(r"^[A-Z0-9]{3}\d{6}$")  # 3 alphanumerics + 6 digits
_TIE_SUPPORT = re.compile(r"^E\d{8}$")


class DocumentType(StrEnum):
    """What the zone says the document is (handlers translate these)."""

    DNI = "dni"  # Spanish identity card
    TIE = "tie"  # Spanish foreigner's identity card (NIE)
    PASSPORT = "passport"
    ID_CARD = "id_card"  # another country's identity card or another TD1 document


@dataclass(frozen=True, slots=True)
class MrzFields:
    """Every field of a zone, as printed (fillers stripped). Not for keeping: it holds
    the birth date and sex; `MrzReading` is what leaves this module."""

    format: MrzFormat
    document_code: str
    issuing_state: str
    document_number: str
    optional_data: str  # TD1 line 1 16-30 / TD3 personal number
    optional_data_2: str  # TD1 line 2 19-29 ("" on TD3)
    birth_date: str  # YYMMDD, `<` for unknown parts
    sex: str
    expiry: str  # YYMMDD
    nationality: str


@dataclass(frozen=True, slots=True)
class MrzReading:
    """What was read and whether it holds; the only result kept from a zone."""

    format: MrzFormat
    document_type: DocumentType
    document_code: str  # "ID", "IR", "P"...
    issuing_state: str  # "ESP", "D"...
    document_number: str  # the support number on a DNI or TIE, the passport number
    id_number: IdNumber | None  # the DNI or NIE found in the zone (check letter valid)
    expiry: date | None  # None when the date cannot be a date
    permanent: bool  # a permanent Spanish DNI (holders over 70; year "99")
    nationality: str
    failed_checks: tuple[str, ...]  # fields whose check digit does not match
    layout_errors: tuple[str, ...]  # fields with a wrong character class or filler run
    id_letter_ok: bool | None  # the DNI/NIE letter; None when no DNI/NIE was expected
    corrected: int  # characters changed by a check-digit-confirmed repair

    @property
    def check_digits_ok(self) -> bool:
        return not self.failed_checks

    @property
    def valid(self) -> bool:
        """Every check holds: digits, layout, and the DNI/NIE letter where there is one."""
        return not self.failed_checks and not self.layout_errors and self.id_letter_ok is not False

    def expired(self, today: date) -> bool:
        """Valid through its expiry day; a permanent DNI never expires."""
        return not self.permanent and self.expiry is not None and self.expiry < today


class MrzError(ValueError):
    """The text is no machine-readable zone of a known format."""


# --------------------------------------------------------------------------- shape


def _clean(line: str) -> str:
    """Uppercase, without the blanks OCR puts between characters; look-alikes of the
    filler (« and the like) as the filler."""
    text = line.upper().replace("«", "<<").replace("‹", "<")
    return "".join(c for c in text if not c.isspace())


def _is_mrz_like(line: str) -> bool:
    return len(line) >= 20 and sum(c in _VALUES for c in line) >= 0.9 * len(line)


def shape(lines: Iterable[str]) -> tuple[MrzFormat, list[tuple[str, ...]]]:
    """The format and the candidate zones among OCR output (blank and stray lines dropped).

    Lines one or two characters off the format's length are fitted by stretching or
    shrinking one of their filler runs (each run is a candidate): OCR merges and splits
    runs of `<` more often than it misreads letters. Every candidate is checked like any
    other reading, and `read_mrz` keeps the best.
    """
    found = [c for c in (_clean(line) for line in lines) if _is_mrz_like(c)]
    for fmt in (MrzFormat.TD1, MrzFormat.TD3):
        count, length = SHAPES[fmt]
        for start in range(len(found) - count, -1, -1):  # the zone is at the bottom
            window = found[start : start + count]
            if all(abs(len(line) - length) <= 2 for line in window):
                options = [_fits(line, length) for line in window]
                if all(options):
                    return fmt, list(itertools.islice(itertools.product(*options), 64))
    raise MrzError("no machine-readable zone of a known format")


def _fits(line: str, length: int) -> list[str]:
    """`line` at `length` characters, by changing the length of one filler run."""
    if len(line) == length:
        return [line]
    delta = length - len(line)
    out = []
    for run in re.finditer(r"<+", line):
        size = run.end() - run.start() + delta
        # A run inside the line keeps at least one filler; a stray one at an end may go.
        if size >= 1 or (size == 0 and (run.start() == 0 or run.end() == len(line))):
            out.append(line[: run.start()] + "<" * size + line[run.end() :])
    if delta < 0:  # or a speck at either end read as a character
        out += [line[-delta:], line[:delta]]
    # Longest runs first: that is where a `<` is most easily lost or doubled.
    return sorted(set(out), key=lambda text: -max(map(len, re.findall("<+", text)), default=0))


# --------------------------------------------------------------------------- classes


def _coerce(line: str, template: str) -> str:
    out = []
    for char, cls in zip(line, template, strict=True):
        allowed = _CLASS_CHARS[cls]
        if char not in allowed:
            if cls in "nbk" and char in _TO_DIGIT:
                char = _TO_DIGIT[char]
            elif cls in "aL" and char in _TO_LETTER:
                char = _TO_LETTER[char]
        out.append(char)
    return "".join(out)


def _class_errors(lines: Sequence[str], fmt: MrzFormat) -> set[str]:
    errors = set()
    for number, (line, template) in enumerate(zip(lines, _TEMPLATES[fmt], strict=True)):
        for position, (char, cls) in enumerate(zip(line, template, strict=True)):
            if char not in _CLASS_CHARS[cls]:
                errors.add(_field_at(fmt, number, position))
    return errors


def _field_at(fmt: MrzFormat, line: int, position: int) -> str:
    spans = _TD1_SPANS if fmt is MrzFormat.TD1 else _TD3_SPANS
    for name, (span_line, start, end) in spans.items():
        if span_line == line and start <= position < end:
            return name
    raise AssertionError((fmt, line, position))  # the spans tile every line


# (line, start, end) with 0-based, end-exclusive positions.
_TD1_SPANS: dict[str, tuple[int, int, int]] = {
    "document_code": (0, 0, 2),
    "issuing_state": (0, 2, 5),
    "document_number": (0, 5, 15),
    "optional_data": (0, 15, 30),
    "birth_date": (1, 0, 7),
    "sex": (1, 7, 8),
    "expiry": (1, 8, 15),
    "nationality": (1, 15, 18),
    "optional_data_2": (1, 18, 29),
    "composite": (1, 29, 30),
    "name": (2, 0, 30),
}
_TD3_SPANS: dict[str, tuple[int, int, int]] = {
    "document_code": (0, 0, 2),
    "issuing_state": (0, 2, 5),
    "name": (0, 5, 44),
    "document_number": (1, 0, 10),
    "nationality": (1, 10, 13),
    "birth_date": (1, 13, 20),
    "sex": (1, 20, 21),
    "expiry": (1, 21, 28),
    "personal_number": (1, 28, 43),
    "composite": (1, 43, 44),
}


# --------------------------------------------------------------------------- fields


def _strip(value: str) -> str:
    return value.rstrip("<")


def _td1_number(line1: str) -> tuple[str, str, str]:
    """(number, its check digit, optional data): a number longer than 9 characters
    marks position 15 with `<` and continues in the optional data up to its check digit."""
    number, check, optional = line1[5:14], line1[14], line1[15:30]
    if check == "<" and _strip(number) == number and _strip(optional):
        rest = optional.split("<", 1)[0]
        if len(rest) >= 2:
            return number + rest[:-1], rest[-1], optional[len(rest) :]
    return number, check, optional


def fields(lines: Sequence[str]) -> MrzFields:
    """The fields of well-shaped lines (see `shape`); no check is made here."""
    fmt = MrzFormat.TD1 if len(lines) == 3 else MrzFormat.TD3
    if fmt is MrzFormat.TD1:
        first, second, _ = lines
        number, _, optional = _td1_number(first)
        return MrzFields(
            format=fmt,
            document_code=_strip(first[0:2]),
            issuing_state=_strip(first[2:5]),
            document_number=_strip(number),
            optional_data=_strip(optional),
            optional_data_2=_strip(second[18:29]),
            birth_date=second[0:6],
            sex=second[7],
            expiry=second[8:14],
            nationality=_strip(second[15:18]),
        )
    first, second = lines
    return MrzFields(
        format=fmt,
        document_code=_strip(first[0:2]),
        issuing_state=_strip(first[2:5]),
        document_number=_strip(second[0:9]),
        optional_data=_strip(second[28:42]),
        optional_data_2="",
        birth_date=second[13:19],
        sex=second[20],
        expiry=second[21:27],
        nationality=_strip(second[10:13]),
    )


def _checks(lines: Sequence[str]) -> list[tuple[str, str, str]]:
    """(field, covered text, check character) for every check digit of the zone."""
    if len(lines) == 3:
        first, second, _ = lines
        number, number_check, _ = _td1_number(first)
        return [
            ("document_number", number, number_check),
            ("birth_date", second[0:6], second[6]),
            ("expiry", second[8:14], second[14]),
            ("composite", first[5:30] + second[0:7] + second[8:15] + second[18:29], second[29]),
        ]
    _, second = lines
    personal = second[28:42]
    checks = [
        ("document_number", second[0:9], second[9]),
        ("birth_date", second[13:19], second[19]),
        ("expiry", second[21:27], second[27]),
        ("composite", second[0:10] + second[13:20] + second[21:43], second[43]),
    ]
    # An unused personal number may carry `<` as its check digit.
    if not (personal == "<" * 14 and second[42] == "<"):
        checks.append(("personal_number", personal, second[42]))
    return checks


def _failed_checks(lines: Sequence[str]) -> list[str]:
    failed = []
    for name, text, check in _checks(lines):
        try:
            if check_digit(text) != check:
                failed.append(name)
        except ValueError:
            failed.append(name)
    return failed


def _valid_yymmdd(text: str, *, unknown_ok: bool) -> bool:
    pairs = [text[i : i + 2] for i in (0, 2, 4)]
    if unknown_ok and "<<" in pairs:
        # Doc 9303: an unknown year, month or day of birth is filled with `<<`.
        return all(p == "<<" or p.isdigit() for p in pairs)
    if not text.isdigit():
        return False
    month, day = int(text[2:4]), int(text[4:6])
    for century in (1900, 2000):  # a birth date's century is not needed, only its shape
        try:
            date(century + int(text[:2]), month, day)
            return True
        except ValueError:
            continue
    return False


def _layout_errors(lines: Sequence[str], data: MrzFields) -> set[str]:
    fmt = data.format
    errors = _class_errors(lines, fmt)
    first = lines[0]
    if fmt is MrzFormat.TD1:
        if first[0] not in "IAC":
            errors.add("document_code")
        number, _, optional = _td1_number(first)
        if not _NUMBER.match(number):
            errors.add("document_number")
        if not _OPTIONAL.match(optional):
            errors.add("optional_data")
        if not _OPTIONAL.match(lines[1][18:29]):
            errors.add("optional_data_2")
        if not _NAME.match(lines[2]):
            errors.add("name")
    else:
        if first[0] != "P":
            errors.add("document_code")
        if not _NUMBER.match(lines[1][0:9]):
            errors.add("document_number")
        if not _OPTIONAL.match(lines[1][28:42]):
            errors.add("personal_number")
        if not _NAME.match(first[5:44]):
            errors.add("name")
    if not _STATE.match(first[2:5]):
        errors.add("issuing_state")
    nationality = lines[1][15:18] if fmt is MrzFormat.TD1 else lines[1][10:13]
    if not _STATE.match(nationality):
        errors.add("nationality")
    if not _valid_yymmdd(data.birth_date, unknown_ok=True):
        errors.add("birth_date")
    if not _valid_yymmdd(data.expiry, unknown_ok=False):
        errors.add("expiry")
    return errors


# --------------------------------------------------------------------------- Spain


def _spanish_card(lines: Sequence[str]) -> tuple[str, str] | None:
    """For a Spanish TD1: which kind ("dni", "nie" or "old_dni") and the layout its
    optional data must follow, else None."""
    first = lines[0]
    if first[2:5] != "ESP":
        return None
    number = _strip(first[5:14])
    optional = first[15:30]
    if _DNI.match(number) and first[14].isdigit():
        return "old_dni", optional  # pre-2006: the DNI itself is the document number
    if optional[:1] in ("X", "Y", "Z"):
        return "nie", optional
    return "dni", optional


def _coerce_spanish(lines: list[str]) -> None:
    """Fix look-alikes in the positions the Spanish layouts make certain: the DNI's eight
    digits and letter, the NIE's prefix, digits and letter, the support number's digits."""
    kind_layout = _spanish_card(lines)
    if kind_layout is None:
        return
    kind, _ = kind_layout
    first = list(lines[0])
    if kind == "old_dni":
        template = {i: "n" for i in range(5, 13)} | {13: "L"}
    elif kind == "nie":
        template = {15: "L"} | {i: "n" for i in range(16, 23)} | {23: "L"}
        template |= {6 + i: "n" for i in range(8)} if first[5] == "E" else {}
    else:
        template = {i: "n" for i in range(15, 23)} | {23: "L"}
        template |= {i: "n" for i in range(8, 14)}  # support: 3 alphanumerics + 6 digits
    for position, cls in template.items():
        char = first[position]
        if cls == "n" and char in _TO_DIGIT:
            first[position] = _TO_DIGIT[char]
        elif cls == "L" and char in _TO_LETTER:
            first[position] = _TO_LETTER[char]
    lines[0] = "".join(first)


def _id_number(raw: str, kind: IdKind) -> IdNumber | None:
    try:
        return validate_id(raw, kind)
    except InvalidIdNumber:
        return None


def _interpret(
    lines: Sequence[str], data: MrzFields
) -> tuple[DocumentType, IdNumber | None, bool | None, set[str]]:
    """Document type, DNI/NIE, whether its letter holds, and Spain-specific layout errors."""
    errors: set[str] = set()
    if data.format is MrzFormat.TD3:
        # A passport's personal number is not always a DNI (the Spanish specimen's is
        # not), so another shape is no error; a number of DNI or NIE shape must have
        # its check letter.
        personal = data.optional_data
        kind = IdKind.DNI if _DNI.match(personal) else IdKind.NIE if _NIE.match(personal) else None
        if kind is None:
            return DocumentType.PASSPORT, None, None, errors
        found = _id_number(personal, kind)
        return DocumentType.PASSPORT, found, found is not None, errors
    spanish = _spanish_card(lines)
    if spanish is None:
        return DocumentType.ID_CARD, None, None, errors
    layout, optional = spanish
    if layout == "old_dni":
        found = _id_number(data.document_number, IdKind.DNI)
        return DocumentType.DNI, found, found is not None, errors
    pattern, id_kind, support, doc_type = (
        (_NIE, IdKind.NIE, _TIE_SUPPORT, DocumentType.TIE)
        if layout == "nie"
        else (_DNI, IdKind.DNI, _DNI_SUPPORT, DocumentType.DNI)
    )
    value = _strip(optional)
    if not pattern.match(value) or optional[len(value) :] != "<" * (15 - len(value)):
        errors.add("optional_data")
    if not support.match(data.document_number):
        errors.add("document_number")
    found = _id_number(value, id_kind) if pattern.match(value) else None
    return doc_type, found, found is not None, errors


# --------------------------------------------------------------------------- repair

# Swaps the check digits catch (the two characters differ mod 10), tried in positions
# that admit both: only there can OCR have confused them without breaking the layout.
_SWAPS = {
    "O": "0",
    "0": "O",
    "B": "8",
    "8": "B",
    "S": "5",
    "5": "S",
    "Z": "2",
    "2": "Z",
    "I": "1",
    "1": "I",
    "D": "0",
}


def _repair(lines: list[str]) -> int:
    """One misread in an alphanumeric field whose check digit fails: try each plausible
    swap; keep it only when it is the single one that makes the field's check digit and
    the composite both hold. Returns the number of characters changed (0 or 1)."""
    failed = _failed_checks(lines)
    fmt = MrzFormat.TD1 if len(lines) == 3 else MrzFormat.TD3
    if len(failed) != 2 or "composite" not in failed:
        return 0
    field = next(f for f in failed if f != "composite")
    if field not in ("document_number", "personal_number"):
        return 0  # dates are digits only: a wrong digit cannot be told from a right one
    spans = _TD1_SPANS if fmt is MrzFormat.TD1 else _TD3_SPANS
    line, start, end = spans[field]
    template = _TEMPLATES[fmt][line]
    candidates = []
    for position in range(start, end - 1):  # the last position is the check digit
        if template[position] != "x":
            continue
        swap = _SWAPS.get(lines[line][position])
        if swap is None:
            continue
        trial = list(lines)
        trial[line] = trial[line][:position] + swap + trial[line][position + 1 :]
        if not _failed_checks(trial):
            candidates.append(trial)
    if len(candidates) != 1:
        return 0
    lines[:] = candidates[0]
    return 1


# --------------------------------------------------------------------------- public


def read_mrz(raw_lines: Iterable[str]) -> MrzReading:
    """Shape, fix and check OCR output; raise `MrzError` when it is no zone at all.

    When the line lengths needed fitting, every fitted candidate is read and the best
    kept: one that passes every check, else the one with the fewest failures."""
    fmt, candidates = shape(raw_lines)
    readings = [_read(fmt, candidate) for candidate in candidates]
    return min(readings, key=_badness)


def _badness(reading: MrzReading) -> tuple[int, int]:
    letter = 1 if reading.id_letter_ok is False else 0
    return (len(reading.failed_checks) + len(reading.layout_errors) + letter, reading.corrected)


def _read(fmt: MrzFormat, shaped: Sequence[str]) -> MrzReading:
    lines = [
        _coerce(line, template) for line, template in zip(shaped, _TEMPLATES[fmt], strict=True)
    ]
    if fmt is MrzFormat.TD1:
        _coerce_spanish(lines)
    corrected = _repair(lines)
    data = fields(lines)
    doc_type, found, letter_ok, spanish_errors = _interpret(lines, data)
    layout = _layout_errors(lines, data) | spanish_errors
    expiry, permanent = _expiry(data, doc_type)
    return MrzReading(
        format=fmt,
        document_type=doc_type,
        document_code=data.document_code,
        issuing_state=data.issuing_state,
        document_number=data.document_number,
        id_number=found,
        expiry=expiry,
        permanent=permanent,
        nationality=data.nationality,
        failed_checks=tuple(_failed_checks(lines)),
        layout_errors=tuple(sorted(layout)),
        id_letter_ok=letter_ok,
        corrected=corrected,
    )


def _expiry(data: MrzFields, doc_type: DocumentType) -> tuple[date | None, bool]:
    """The expiry date. Documents with a zone expire after 2000 (the zone dates from the
    1980s and lasts at most ten years), so the century is 20; a Spanish DNI for life
    shows year 99 (its VIZ says 01-01-9999). How a DNI for life encodes it is unconfirmed;
    "99" is the reading that cannot be anything else in a valid card."""
    text = data.expiry
    if not text.isdigit():
        return None, False
    if doc_type is DocumentType.DNI and text[:2] == "99":
        return date(9999, 1, 1), True
    try:
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6])), False
    except ValueError:
        return None, False


# --------------------------------------------------------------------------- compose


def compose_td1(
    *,
    document_code: str,
    issuing_state: str,
    document_number: str,
    optional_data: str,
    birth_date: str,
    sex: str,
    expiry: str,
    nationality: str,
    name: str,
    optional_data_2: str = "",
) -> tuple[str, str, str]:
    """Three TD1 lines with their check digits (demo and test documents)."""
    number = document_number.ljust(9, "<")
    first = (
        document_code.ljust(2, "<")
        + issuing_state.ljust(3, "<")
        + number
        + check_digit(number)
        + optional_data.ljust(15, "<")
    )
    second = (
        birth_date
        + check_digit(birth_date)
        + sex
        + expiry
        + check_digit(expiry)
        + nationality.ljust(3, "<")
        + optional_data_2.ljust(11, "<")
    )
    composite = first[5:30] + second[0:7] + second[8:15] + second[18:29]
    return first, second + check_digit(composite), name.ljust(30, "<")[:30]


def compose_td3(
    *,
    issuing_state: str,
    document_number: str,
    personal_number: str,
    birth_date: str,
    sex: str,
    expiry: str,
    nationality: str,
    name: str,
    document_code: str = "P",
) -> tuple[str, str]:
    """Two TD3 lines with their check digits (demo and test documents)."""
    first = (document_code.ljust(2, "<") + issuing_state.ljust(3, "<") + name).ljust(44, "<")
    number = document_number.ljust(9, "<")
    personal = personal_number.ljust(14, "<")
    personal_check = "<" if not personal_number else check_digit(personal)
    second = (
        number
        + check_digit(number)
        + nationality.ljust(3, "<")
        + birth_date
        + check_digit(birth_date)
        + sex
        + expiry
        + check_digit(expiry)
        + personal
        + personal_check
    )
    composite = second[0:10] + second[13:20] + second[21:43]
    return first[:44], second + check_digit(composite)


def name_field(primary: str, secondary: str) -> str:
    """Names in zone form: "MUÑOZ GARCÍA", "MARÍA JOSÉ" -> "MUNOZ<GARCIA<<MARIA<JOSE"
    (Doc 9303 transliteration of the Spanish letters; others are dropped)."""

    def part(text: str) -> str:
        folded = "".join(_FOLD.get(c, c) for c in text.upper().replace("·", ""))
        words = re.findall(r"[A-Z]+", folded)
        return "<".join(words)

    return f"{part(primary)}<<{part(secondary)}"


_FOLD = {
    "Á": "A",
    "À": "A",
    "Ä": "AE",
    "É": "E",
    "È": "E",
    "Í": "I",
    "Ï": "I",
    "Ó": "O",
    "Ò": "O",
    "Ö": "OE",
    "Ú": "U",
    "Ü": "UE",
    "Ñ": "N",
    "Ç": "C",
}
