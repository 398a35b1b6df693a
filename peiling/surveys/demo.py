"""Synthetic but realistic responses to the demo jongerenpeiling, for staff pages to show."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from peiling.surveys.definition import get_definition
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Survey
from peiling.surveys.services import ResponseMeta, store_response

DEMO_SLUG = "jongerenpeiling-demo"

# Rough number of young people per municipality, so that Emmen and Assen answer most.
MUNICIPALITY_WEIGHTS = {
    "GM1680": 4,
    "GM0106": 11,
    "GM1681": 4,
    "GM0109": 6,
    "GM1690": 4,
    "GM0114": 17,
    "GM0118": 9,
    "GM0119": 6,
    "GM1731": 5,
    "GM1699": 5,
    "GM1730": 5,
    "GM1701": 3,
}
ENOUGH = {"ruim": 12, "genoeg": 35, "onvoldoende": 36, "weet_niet": 17}
ACTIVITIES = {
    "ontmoeting": 55,
    "sport": 45,
    "ontspanning": 40,
    "muziek": 38,
    "cultuur": 15,
    "natuur": 14,
    "gamen": 12,
    "anders": 5,
}
OTHER_IDEAS = ["Skatebaan", "Zwemmen bij de plas", "Koken met elkaar", "Escape room"]
REMARKS = [
    "Meer plekken om met vrienden af te spreken zonder dat het geld kost.",
    "Een festival in ons dorp zou echt leuk zijn!",
    "De bus rijdt in de zomer bijna niet, daardoor kan ik nergens heen.",
    "Graag een sportdag voor alle leeftijden.",
    "Het jongerencentrum is in de zomer dicht, jammer.",
    "Meer muziek en optredens van lokale bands.",
]
FIRST = ["Sanne", "Daan", "Lotte", "Milan", "Fenna", "Jesse", "Noor", "Thijs", "Anouk", "Bram"]
LAST = ["de Vries", "Bakker", "Smit", "Meijer", "Mulder", "de Boer", "Kok", "Dijkstra"]


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def synthetic_form(rng: random.Random) -> dict[str, list[str]]:
    """One respondent's answers, as her browser would post them."""
    age = rng.choices(range(12, 26), weights=[9, 9, 9, 8, 8, 8, 7, 6, 6, 5, 5, 4, 4, 3])[0]
    form = {
        "q_leeftijd": [str(age)],
        "q_gemeente": [_pick(rng, MUNICIPALITY_WEIGHTS)],
        "q_genoeg_te_doen": [_pick(rng, ENOUGH)],
        "q_organiseren": ["ja" if rng.random() < 0.5 else "nee"],
        "q_cijfer": [str(min(10, max(1, round(rng.gauss(6.3, 1.4)))))],
    }
    if form["q_organiseren"] == ["ja"]:
        picks = set()
        while len(picks) < rng.choice((1, 2, 3, 3)):
            picks.add(_pick(rng, ACTIVITIES))
        form["q_activiteiten"] = sorted(picks)
        if "anders" in picks:
            form["q_activiteiten__anders"] = [rng.choice(OTHER_IDEAS)]
    if rng.random() < 0.2:
        form["q_opmerking"] = [rng.choice(REMARKS)]
    roll = rng.random()
    if roll < 0.137:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        form["q_helpen"] = ["ja"]
        form["q_helpen__naam"] = [f"{first} {last}"]
        slug = f"{first}.{last}".lower().replace(" ", "")
        form["q_helpen__email"] = [f"{slug}{rng.randint(1, 999)}@example.org"]
        form["q_helpen__act"] = sorted(rng.sample(["ontmoeting", "sport", "muziek", "promotie"], 2))
        # Ticked, as the form asks under 16; ignored when not asked. No draw: same data.
        form["q_helpen__toestemming"] = ["ja"]
    elif roll < 0.9:
        form["q_helpen"] = ["nee"]
    return form


def add_synthetic_responses(
    session: Session, survey: Survey, count: int, seed: int | None = None
) -> int:
    """Store `count` synthetic responses through the normal validation and storage path.

    Raises ValueError if a generated response would not pass the form's own validation.
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    defn = get_definition(session, survey)
    now = datetime.now(UTC)
    for _ in range(count):
        form = synthetic_form(rng)
        answers, problems = check_questions(defn, visible_pages(defn, form), form)
        if problems:
            raise ValueError(f"demo response does not validate: {problems.errors}")
        when = now - timedelta(minutes=rng.randint(0, 21 * 24 * 60))
        meta = ResponseMeta(secrets.token_urlsafe(24), source="demo", submitted_at=when)
        store_response(session, defn, answers, meta)
    return count
