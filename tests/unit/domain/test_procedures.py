from __future__ import annotations

from importlib import resources
from typing import cast

import pytest

from domain.procedures import (
    FIELD_TYPES,
    Catalog,
    CatalogError,
    Choice,
    FieldType,
    FormField,
    LocalizedText,
    UnknownProcedure,
    parse_catalog,
    validate_field,
)

LANGS = ("ca", "es", "en")


def shipped_text() -> str:
    return resources.files("config").joinpath("procedures.toml").read_text(encoding="utf-8")


def t(text: str) -> str:
    return f'{{ ca = "{text} ca", es = "{text} es", en = "{text} en" }}'


def entry(code: str = "x", extra: str = "", kind: str = "procedure") -> str:
    return (
        f'[[procedure]]\ncode = "{code}"\nkind = "{kind}"\nduration_minutes = 20\n'
        f"name = {t('Name')}\ndescription = {t('Desc')}\n{extra}"
    )


# ------------------------------------------------------------------ shipped catalogue


def test_shipped_catalogue_parses_and_is_complete() -> None:
    catalog = parse_catalog(shipped_text())
    procedures = catalog.procedures()
    assert len(procedures) >= 7
    assert [p.code for p in catalog.information()] == ["informacio"]
    for code in (
        "padro_alta",
        "certificat_convivencia",
        "bonificacio_ibi",
        "obres_menors",
        "serveis_socials",
        "targeta_aparcament",
        "volant_empadronament",
    ):
        assert code in catalog
    for procedure in catalog:
        assert 15 <= procedure.duration_minutes <= 30
        assert 3 <= len(procedure.fields) <= 7, procedure.code
        assert procedure.documents, procedure.code
        texts = [procedure.name, procedure.description]
        texts += [d.name for d in procedure.documents]
        texts += [d.hint for d in procedure.documents if d.hint]
        texts += [f.label for f in procedure.fields]
        texts += [c.label for f in procedure.fields for c in f.choices]
        for text in texts:
            assert text is not None
            assert set(text.languages) == set(LANGS), text
            assert len({text["ca"], text["es"], text["en"]}) > 1 or len(text["ca"]) < 15, text


def test_shipped_catalogue_uses_many_field_types() -> None:
    used = {f.type for p in parse_catalog(shipped_text()) for f in p.fields}
    assert used >= {
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
    }


# --------------------------------------------------------------------------- catalogue


def test_catalog_lookup_and_order() -> None:
    catalog = parse_catalog(entry("b") + entry("a") + entry("info", kind="information"))
    assert catalog.codes() == ("b", "a", "info")
    assert catalog.get("a").code == "a"
    assert [p.code for p in catalog.procedures()] == ["b", "a"]
    assert [p.code for p in catalog.information()] == ["info"]
    assert catalog.get("info").is_information
    assert len(catalog) == 3 and "zz" not in catalog and catalog.find("zz") is None
    with pytest.raises(UnknownProcedure) as caught:
        catalog.get("zz")
    assert isinstance(caught.value, KeyError)
    assert "zz" in str(caught.value)


def test_catalog_constructor_refuses_duplicates() -> None:
    proc = parse_catalog(entry("a")).get("a")
    with pytest.raises(CatalogError):
        Catalog([proc, proc])


def test_localized_text_falls_back_to_catalan_then_first() -> None:
    text = LocalizedText({"ca": "Hola", "es": "Hola es"})
    assert text.get("es") == "Hola es"
    assert text.get("en") == "Hola"
    assert text.get(None) == "Hola"
    assert LocalizedText({"en": "Hello"}).get("es") == "Hello"
    with pytest.raises(KeyError):
        text["en"]
    assert text == LocalizedText(ca="Hola", es="Hola es")
    assert hash(text) == hash(LocalizedText(es="Hola es", ca="Hola"))
    with pytest.raises(ValueError):
        LocalizedText({})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("this is = not toml [", "not valid TOML"),
        ("", "catalogue.procedure: missing"),
        ('title = "x"\n' + entry(), "catalogue.title: unknown key"),
        ("procedure = []", "the catalogue is empty"),
        (
            entry().replace("duration_minutes = 20", "duration_minutes = 0"),
            "procedure[0](x).duration_minutes",
        ),
        (
            entry().replace("duration_minutes = 20", 'duration_minutes = "20"'),
            "procedure[0](x).duration_minutes",
        ),
        (
            entry().replace("duration_minutes", "duration_minute"),
            "procedure[0](x).duration_minute: unknown key",
        ),
        (
            entry().replace('name = { ca = "Name ca", es = "Name es", en = "Name en" }', ""),
            "procedure[0](x).name: missing",
        ),
        (entry().replace(', en = "Desc en"', ""), "procedure[0](x).description.en: missing"),
        (entry().replace('es = "Name es"', 'es = ""'), "procedure[0](x).name.es"),
        (entry(code="Bad-Code"), "procedure[0].code: 'Bad-Code' is not a valid code"),
        (entry(kind="other"), "procedure[0](x).kind: 'other'"),
        (entry("a") + entry("a"), "procedure[1](a).code: 'a' appears twice"),
        (
            entry(extra=f'[[procedure.fields]]\ncode = "f"\ntype = "dat"\nlabel = {t("L")}\n'),
            "procedure[0](x).fields[0].type: unknown field type 'dat'",
        ),
        (
            entry(
                extra=f'[[procedure.fields]]\ncode = "f"\ntype = "text"\nlabel = {t("L")}\n'
                "required = 1\n"
            ),
            "procedure[0](x).fields[0].required",
        ),
        (
            entry(
                extra=f'[[procedure.fields]]\ncode = "f"\ntype = "text"\nlabel = {t("L")}\n'
                "max_length = -3\n"
            ),
            "procedure[0](x).fields[0].max_length",
        ),
        (
            entry(extra=f'[[procedure.fields]]\ncode = "f"\ntype = "choice"\nlabel = {t("L")}\n'),
            "procedure[0](x).fields[0].choices: expected a list",
        ),
        (
            entry(
                extra=f'[[procedure.fields]]\ncode = "f"\ntype = "choice"\nlabel = {t("L")}\n'
                "choices = []\n"
            ),
            "procedure[0](x).fields[0].choices: a choice field needs",
        ),
        (
            entry(
                extra=f'[[procedure.fields]]\ncode = "f"\ntype = "choice"\nlabel = {t("L")}\n'
                f'choices = [{{ code = "a", label = {t("A")} }}, '
                f'{{ code = "a", label = {t("B")} }}]\n'
            ),
            "procedure[0](x).fields[0].choices[1].code: 'a' appears twice",
        ),
        (
            entry(
                extra=f'[[procedure.fields]]\ncode = "f"\ntype = "text"\nlabel = {t("L")}\n'
                f'choices = [{{ code = "a", label = {t("A")} }}]\n'
            ),
            "procedure[0](x).fields[0].choices: only fields of type 'choice'",
        ),
        (
            entry(
                extra=f'[[procedure.fields]]\ncode = "f"\ntype = "text"\nlabel = {t("L")}\n'
                f'[[procedure.fields]]\ncode = "f"\ntype = "date"\nlabel = {t("L")}\n'
            ),
            "procedure[0](x).fields[1].code: 'f' appears twice",
        ),
        (
            entry(extra=f'[[procedure.documents]]\ncode = "d"\nnam = {t("D")}\n'),
            "procedure[0](x).documents[0].nam: unknown key",
        ),
        (
            entry(extra='[[procedure.documents]]\ncode = "d"\nname = { ca = "D" }\n'),
            "procedure[0](x).documents[0].name.es: missing translation",
        ),
    ],
)
def test_bad_catalogues_name_the_offending_key(text: str, fragment: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text)
    assert fragment in str(caught.value)


def test_languages_can_be_relaxed() -> None:
    text = entry().replace(', en = "Desc en"', "")
    catalog = parse_catalog(text, languages=("ca",))
    assert catalog.get("x").description.get("en") == "Desc ca"


def test_parsed_fields_and_documents() -> None:
    extra = (
        f'[[procedure.documents]]\ncode = "dni"\nname = {t("DNI")}\nhint = {t("Hint")}\n'
        f'[[procedure.fields]]\ncode = "k"\ntype = "choice"\nlabel = {t("K")}\nrequired = false\n'
        f'choices = [{{ code = "one", label = {t("One")} }}]\n'
        f'[[procedure.fields]]\ncode = "n"\ntype = "text"\nmax_length = 10\nlabel = {t("N")}\n'
    )
    proc = parse_catalog(entry(extra=extra)).get("x")
    assert proc.document("dni") is not None and proc.documents[0].hint is not None
    assert proc.documents[0].hint.get("es") == "Hint es"
    k = proc.field("k")
    assert k is not None and not k.required and k.choices[0].code == "one"
    assert k.choice("one") is not None and k.choice("two") is None
    n = proc.field("n")
    assert n is not None and n.required and n.max_length == 10 and n.type == "text"
    assert proc.field("zz") is None


# -------------------------------------------------------------------------- fields


def field(kind: str, required: bool = True, max_length: int | None = None) -> FormField:
    choices: tuple[Choice, ...] = ()
    if kind == "choice":
        choices = (
            Choice("own", LocalizedText(ca="Propietari", es="Propietario", en="Owner")),
            Choice("rent", LocalizedText(ca="Llogater", es="Inquilino", en="Tenant")),
        )
    ftype = cast(FieldType, kind)
    return FormField("f", LocalizedText(ca="Camp"), ftype, required, choices, max_length)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("text", "  Carrer   Major, 3  ", "Carrer Major, 3"),
        ("text", "línia 1\n  línia 2 ", "línia 1\nlínia 2"),
        ("date", "03/12/2026", "2026-12-03"),
        ("date", "3/2/2026", "2026-02-03"),
        ("date", "2026-12-03", "2026-12-03"),
        ("date", "03-12-2026", "2026-12-03"),
        ("date", "29/02/2028", "2028-02-29"),
        ("number", "3", "3"),
        ("number", "2,5", "2.5"),
        ("number", "2.5", "2.5"),
        ("number", "1.234", "1234"),
        ("number", "12.500,75", "12500.75"),
        ("number", "1,234.5", "1234.5"),
        ("number", "007", "7"),
        ("email", "Joan.Puig@Example.CAT", "Joan.Puig@example.cat"),
        ("phone", "612 34 56 78", "+34612345678"),
        ("phone", "93.123.45.67", "+34931234567"),
        ("phone", "+34 612-345-678", "+34612345678"),
        ("phone", "0034612345678", "+34612345678"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("choice", "rent", "rent"),
        ("choice", "inquilino", "rent"),
        ("choice", "LLOGATER", "rent"),
        ("choice", "propietari", "own"),
        ("choice", "1", "own"),
        ("yesno", "Sí", "yes"),
        ("yesno", "si", "yes"),
        ("yesno", "yes", "yes"),
        ("yesno", "No", "no"),
        ("id_number", "12345678z", "12345678Z"),
        ("id_number", "x-1111111-g", "X1111111G"),
        ("postal_code", "08191", "08191"),
        ("postal_code", "52 001", "52001"),
        ("iban", "es91 2100 0418 4502 0005 1332", "ES9121000418450200051332"),
    ],
)
def test_valid_answers_are_normalised(kind: str, raw: str, expected: str) -> None:
    assert validate_field(field(kind), raw) == (expected, None)


@pytest.mark.parametrize(
    ("kind", "raw", "error"),
    [
        ("text", "", "required"),
        ("text", "   ", "required"),
        ("text", "a\x00b", "bad_text"),
        ("date", "31/02/2026", "not_a_date"),
        ("date", "2026/13/01", "not_a_date"),
        ("date", "demà", "not_a_date"),
        ("date", "03/12/26", "not_a_date"),
        ("number", "tres", "not_a_number"),
        ("number", "-3", "not_a_number"),
        ("number", "1,2,3", "not_a_number"),
        ("email", "joan@", "bad_email"),
        ("email", "joan@exemple", "bad_email"),
        ("email", "jo an@exemple.cat", "bad_email"),
        ("email", "joan..p@exemple.cat", "bad_email"),
        ("phone", "12345", "bad_phone"),
        ("phone", "512345678", "bad_phone"),
        ("phone", "+34 5123", "bad_phone"),
        ("choice", "llogater de cases", "not_a_choice"),
        ("choice", "3", "not_a_choice"),
        ("yesno", "potser", "not_yes_no"),
        ("id_number", "12345678A", "bad_id"),
        ("id_number", "X1111111A", "bad_id"),
        ("postal_code", "8191", "bad_postal_code"),
        ("postal_code", "99000", "bad_postal_code"),
        ("postal_code", "00100", "bad_postal_code"),
        ("iban", "ES9121000418450200051333", "bad_iban"),
    ],
)
def test_invalid_answers_give_an_error_code(kind: str, raw: str, error: str) -> None:
    assert validate_field(field(kind), raw) == (None, error)


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_empty_optional_answer_is_accepted_as_none(kind: str) -> None:
    assert validate_field(field(kind, required=False), "  ") == (None, None)
    assert validate_field(field(kind, required=False), None) == (None, None)
    assert validate_field(field(kind, required=True), "") == (None, "required")


def test_too_long_uses_the_field_limit_or_a_default() -> None:
    assert validate_field(field("text", max_length=5), "123456") == (None, "too_long")
    assert validate_field(field("text", max_length=5), "12345") == ("12345", None)
    assert validate_field(field("text"), "x" * 501) == (None, "too_long")
    assert validate_field(field("number", max_length=2), "100") == (None, "too_long")


def test_the_identity_document_is_marked_in_every_procedure_that_asks_for_one() -> None:
    catalog = parse_catalog(shipped_text())
    for procedure in catalog.procedures():
        marked = [d.code for d in procedure.documents if d.identity]
        assert marked == ["identitat"], procedure.code


def test_a_documents_identity_flag_must_be_a_boolean() -> None:
    docs = f'[[procedure.documents]]\ncode = "id"\nname = {t("ID")}\n'
    parsed = parse_catalog(entry(extra=docs + "identity = true\n"))
    assert parsed.get("x").documents[0].identity is True
    assert parse_catalog(entry(extra=docs)).get("x").documents[0].identity is False
    with pytest.raises(CatalogError, match=r"documents\[0\]\.identity"):
        parse_catalog(entry(extra=docs + 'identity = "yes"\n'))
