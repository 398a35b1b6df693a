"""Open answers: searchable, escaped, scoped, and withheld for small groups."""

from __future__ import annotations

from tests.analysis.test_dashboard import short_form, store


def remark(place: str, text: str, age: str = "17") -> dict[str, list[str]]:
    return {**short_form(age, place), "q_opmerking": [text]}


def test_open_answers_are_listed_searched_and_escaped(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [
        remark("GM0114", "Een skatebaan bij het station"),
        remark("GM0114", "<img src=x onerror=alert(1)> meer muziek"),
        remark("GM0114", "100% meer sport"),
        remark("GM0114", "Niks"),
        remark("GM0114", "Meer sport in het park"),
        remark("GM0106", "Iets in Assen"),
        {**short_form("16", "GM0114"), "q_organiseren": ["ja"], "q_activiteiten": ["anders"],
         "q_activiteiten__anders": ["Een filmavond"]},
    ])  # fmt: skip
    client = logged_in("analyst_emmen")
    html = client.get(f"/analysis/{demo_survey.slug}/open").get_data(as_text=True)
    assert "Een skatebaan bij het station" in html and "Een filmavond" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Iets in Assen" not in html  # another municipality
    html = client.get(f"/analysis/{demo_survey.slug}/open?zoek=SPORT").get_data(as_text=True)
    assert "100% meer sport" in html and "Meer sport in het park" in html and "Niks" not in html
    # A wildcard is searched for literally, not as SQL's "anything".
    html = client.get(f"/analysis/{demo_survey.slug}/open?zoek=%25").get_data(as_text=True)
    assert "100% meer sport" in html and "Niks" not in html


def test_small_groups_keep_their_texts_unless_allowed(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [remark("GM0114", f"Idee {n}") for n in range(4)]
          + [remark("GM0106", f"Plan {n}") for n in range(6)])  # fmt: skip
    url = f"/analysis/{demo_survey.slug}/open?gemeente=GM0114"
    withheld = logged_in("analyst_no_volunteers").get(url).get_data(as_text=True)
    assert "Idee" not in withheld and "kleiner dan 5 deelnemers" in withheld
    allowed = logged_in("analyst").get(url).get_data(as_text=True)  # volunteers permission
    assert "Idee 3" in allowed
    big = logged_in("analyst_no_volunteers").get(url.replace("GM0114", "GM0106"))
    assert "Plan 5" in big.get_data(as_text=True)  # a group of 6 is shown


def test_search_ignores_the_case_of_accented_letters_on_either_database(  # type: ignore[no-untyped-def]
    app, demo_survey, logged_in
) -> None:
    # SQLite's own lower() knows ASCII only: "Één" stayed "Één" and "één" did not find it.
    store(app, demo_survey, [
        remark("GM0114", "Één keer per week een Überfeest"),
        remark("GM0114", "Geen idee"),
    ])  # fmt: skip
    client = logged_in("analyst_emmen")
    for typed in ("één", "ÉÉN", "überfeest", "ÜBER"):
        html = client.get(f"/analysis/{demo_survey.slug}/open", query_string={"zoek": typed})
        text = html.get_data(as_text=True)
        assert "Één keer per week een Überfeest" in text and "Geen idee" not in text, typed
