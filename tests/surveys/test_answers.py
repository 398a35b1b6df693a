"""Every question type: what it accepts, how it is stored, and each validation error."""

from __future__ import annotations

from typing import Any

import pytest

from peiling.surveys.answers import Problems, clean

ALL_TYPES = [
    {
        "code": "keuze",
        "type": "single_choice",
        "text": "Keuze?",
        "options": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}],
        "other": True,
    },
    {
        "code": "meer",
        "type": "multiple_choice",
        "text": "Meer?",
        "max_choices": 2,
        "options": [
            {"code": "x", "label": "X"},
            {"code": "y", "label": "Y"},
            {"code": "z", "label": "Z"},
        ],
        "other": True,
    },
    {"code": "janee", "type": "yes_no", "text": "Ja of nee?"},
    {"code": "eens", "type": "agree_scale", "text": "Eens?"},
    {"code": "cijfer", "type": "grade", "text": "Cijfer?"},
    {"code": "getal", "type": "number", "text": "Getal?", "min": 0, "max": 40},
    {"code": "komma", "type": "number", "text": "Uren?", "min": 0, "max": 10, "decimal": True},
    {"code": "kort", "type": "short_text", "text": "Kort?"},
    {"code": "lang", "type": "long_text", "text": "Lang?", "max_length": 50},
    {"code": "leeftijd", "type": "age", "text": "Leeftijd?"},
    {"code": "gemeente", "type": "municipality", "text": "Gemeente?"},
    {
        "code": "helpen",
        "type": "volunteer",
        "text": "Helpen?",
        "options": [{"code": "sport", "label": "Sport"}, {"code": "muziek", "label": "Muziek"}],
    },
]


@pytest.fixture
def defn(make_survey, compiled):  # type: ignore[no-untyped-def]
    questions = [dict(q, required=True) for q in ALL_TYPES]
    return compiled(make_survey([{"questions": questions}]))


def run(defn, code: str, raw: dict[str, Any]):  # type: ignore[no-untyped-def]
    problems = Problems()
    raw = {k: v if isinstance(v, list) else [v] for k, v in raw.items()}
    result = clean(defn.by_code[code], raw, problems)
    return result, [msg for _, msg in problems.errors.values()]


@pytest.mark.parametrize(
    ("code", "raw", "expected"),
    [
        ("keuze", {"q_keuze": "b"}, {"codes": ("b",)}),
        (
            "keuze",
            {"q_keuze": "anders", "q_keuze__anders": " Iets eigens "},
            {"codes": ("anders",), "other": "Iets eigens"},
        ),
        ("meer", {"q_meer": ["x", "z"]}, {"codes": ("x", "z")}),
        ("janee", {"q_janee": "nee"}, {"codes": ("nee",)}),
        ("eens", {"q_eens": "4"}, {"codes": ("4",)}),
        ("cijfer", {"q_cijfer": "7"}, {"number": 7.0}),
        ("getal", {"q_getal": "40"}, {"number": 40.0}),
        ("getal", {"q_getal": "0"}, {"number": 0.0}),
        ("komma", {"q_komma": "2,5"}, {"number": 2.5}),
        ("kort", {"q_kort": "  hallo\x00 "}, {"text": "hallo"}),
        ("lang", {"q_lang": "regel 1\r\nregel 2"}, {"text": "regel 1\nregel 2"}),
        ("leeftijd", {"q_leeftijd": "16"}, {"number": 16.0}),
        ("gemeente", {"q_gemeente": "GM0114"}, {"codes": ("GM0114",)}),
        ("gemeente", {"q_gemeente": " GM0114 "}, {"codes": ("GM0114",)}),
        (
            "helpen",
            {"q_helpen": "nee", "q_helpen__naam": "Weg"},
            {"willing": False, "volunteer": None},
        ),
    ],
)
def test_valid_answers(defn, code, raw, expected) -> None:  # type: ignore[no-untyped-def]
    result, errors = run(defn, code, raw)
    assert errors == []
    for field, value in expected.items():
        assert getattr(result, field) == value


def test_volunteer_yes_keeps_contact_details_and_activities(defn) -> None:  # type: ignore[no-untyped-def]
    result, errors = run(
        defn,
        "helpen",
        {
            "q_helpen": "ja",
            "q_helpen__naam": "Sanne de Vries",
            "q_helpen__email": "Sanne@Example.org",
            "q_helpen__telefoon": "",
            "q_helpen__act": ["muziek"],
        },
    )
    assert errors == []
    assert result.willing is True
    assert result.volunteer.name == "Sanne de Vries"
    assert result.volunteer.email == "sanne@example.org"
    assert result.volunteer.phone is None
    assert result.volunteer.activities == ("muziek",)


@pytest.mark.parametrize(
    ("code", "raw", "message"),
    [
        ("keuze", {}, "Kies een antwoord."),
        ("keuze", {"q_keuze": "c"}, "Kies een van de antwoorden uit de lijst."),
        ("keuze", {"q_keuze": ["a", "b"]}, "Kies één antwoord."),
        ("keuze", {"q_keuze": "anders"}, "Vul in wat je bedoelt met ‘anders’."),
        ("meer", {}, "Kies minstens één antwoord."),
        ("meer", {"q_meer": ["x", "y", "z"]}, "Kies maximaal 2 antwoorden."),
        ("meer", {"q_meer": ["x", "x"]}, "Kies een van de antwoorden uit de lijst."),
        # A control character makes a code or number invalid; it is not silently removed.
        ("meer", {"q_meer": ["x\x00"]}, "Kies een van de antwoorden uit de lijst."),
        ("getal", {"q_getal": "1\x002"}, "Vul een getal in, bijvoorbeeld 12."),
        ("janee", {}, "Kies ja of nee."),
        ("janee", {"q_janee": "misschien"}, "Kies een van de antwoorden uit de lijst."),
        ("eens", {"q_eens": "6"}, "Kies een van de antwoorden uit de lijst."),
        ("cijfer", {}, "Kies een cijfer van 1 tot en met 10."),
        ("cijfer", {"q_cijfer": "11"}, "Kies een van de antwoorden uit de lijst."),
        ("cijfer", {"q_cijfer": "0"}, "Kies een van de antwoorden uit de lijst."),
        ("getal", {}, "Vul een getal in."),
        ("getal", {"q_getal": "41"}, "Vul een getal in van 0 tot en met 40."),
        ("getal", {"q_getal": "-1"}, "Vul een getal in van 0 tot en met 40."),
        ("getal", {"q_getal": "twaalf"}, "Vul een getal in, bijvoorbeeld 12."),
        ("getal", {"q_getal": "2,5"}, "Vul een getal in, bijvoorbeeld 12."),
        ("komma", {"q_komma": "1e3"}, "Vul een getal in, bijvoorbeeld 2,5."),
        ("komma", {"q_komma": "10,5"}, "Vul een getal in van 0 tot en met 10."),
        ("kort", {}, "Vul een antwoord in."),
        (
            "kort",
            {"q_kort": "x" * 201},
            "Je antwoord is te lang: gebruik maximaal 200 tekens (nu 201).",
        ),
        (
            "lang",
            {"q_lang": "y" * 51},
            "Je antwoord is te lang: gebruik maximaal 50 tekens (nu 51).",
        ),
        ("leeftijd", {}, "Vul je leeftijd in."),
        ("leeftijd", {"q_leeftijd": "16 jaar"}, "Vul je leeftijd in jaren in, bijvoorbeeld 16."),
        ("leeftijd", {"q_leeftijd": "130"}, "Vul je leeftijd in jaren in, bijvoorbeeld 16."),
        ("gemeente", {}, "Kies je gemeente."),
        ("gemeente", {"q_gemeente": "GM0014"}, "Kies een van de antwoorden uit de lijst."),
        ("helpen", {}, "Kies ja of nee."),
        ("helpen", {"q_helpen": "ja", "q_helpen__email": "a@b.nl"}, "Vul je naam in."),
        (
            "helpen",
            {"q_helpen": "ja", "q_helpen__naam": "Bo"},
            "Vul je e-mailadres of telefoonnummer in, zodat we je kunnen bereiken.",
        ),
        (
            "helpen",
            {"q_helpen": "ja", "q_helpen__naam": "Bo", "q_helpen__email": "bo@"},
            "Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.",
        ),
        (
            "helpen",
            {"q_helpen": "ja", "q_helpen__naam": "Bo", "q_helpen__telefoon": "bel me"},
            "Vul een geldig telefoonnummer in, zoals 06 12345678.",
        ),
        (
            "helpen",
            {
                "q_helpen": "ja",
                "q_helpen__naam": "Bo",
                "q_helpen__telefoon": "0612345678",
                "q_helpen__act": "koken",
            },
            "Kies activiteiten uit de lijst.",
        ),
    ],
)
def test_validation_errors(defn, code, raw, message) -> None:  # type: ignore[no-untyped-def]
    _, errors = run(defn, code, raw)
    assert errors == [message]


def test_gemeente_offers_exactly_the_region(defn) -> None:  # type: ignore[no-untyped-def]
    codes = {o.code for o in defn.by_code["gemeente"].options}
    assert len(codes) == 12
    assert {"GM1680", "GM0106", "GM0114", "GM1701"} <= codes
    assert "GM0014" not in codes  # Groningen is another province


def test_optional_questions_may_stay_empty(make_survey, compiled) -> None:  # type: ignore[no-untyped-def]
    defn = compiled(make_survey([{"questions": [dict(q, required=False) for q in ALL_TYPES]}]))
    for q in defn.questions:
        result, errors = run(defn, q.code, {})
        assert errors == [], q.code
        assert result.empty


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [("0612345678", True), ("06 12345678", True), ("06-12345678", True),
     ("06.12.34.56.78", True), ("(050) 123 45 67", True), ("050-1234567", True),
     ("+31 6 12345678", True), ("+31 (0)6 1234 5678", True), ("0031 6 12345678", True),
     ("bel me", False), ("06", False), ("1234567", False), ("06 1234 5678 9012 3456", False),
     ("06-1234567-", False), ("++31612345678", False), ("06 12345678 of 050 1234567", False),
     ("+31 6 1234 5678 ext. 12", False)],
)  # fmt: skip
def test_phone_numbers_are_read_as_people_write_them(defn, typed: str, accepted: bool) -> None:  # type: ignore[no-untyped-def]
    raw = {"q_helpen": "ja", "q_helpen__naam": "Bo", "q_helpen__telefoon": typed}
    cleaned, errors = run(defn, "helpen", raw)
    if accepted:
        assert errors == [] and cleaned.volunteer.phone == typed
    else:
        assert errors == ["Vul een geldig telefoonnummer in, zoals 06 12345678."]
