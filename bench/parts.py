"""Peiling's own work on a submission, part by part: what each part costs in instructions.

    .venv/bin/python -m bench.instructions --parts      (or `make bench-parts`)

`make bench-instructions` gives submission minus floor as one figure (Peiling's own work:
everything the floor, bench/floor.py, leaves out). To say which parts that figure is made
of, a submission is counted again with one part switched off at a time: replaced by the
cheapest stand-in that keeps the request valid and stored, so the difference is that part's
cost. Nothing here runs in production; `tests/test_bench_parts.py` checks that every part
still names real code and that a submission is still stored with it switched off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Replacement = tuple[Any, str, Any]  # (module or class, attribute, stand-in)


def _guard() -> Iterator[Replacement]:
    from peiling.surveys import formguard

    yield formguard, "check", lambda *_args, **_kwargs: None


def _validation() -> Iterator[Replacement]:
    """The first request's validated answers reused: the same body every time."""
    from peiling.surveys import views

    real = views.advance
    seen: dict[int, Any] = {}

    def advance(defn: Any, raw: Any, index: int, going_back: bool, age: Any = None) -> Any:
        if index not in seen:
            seen[index] = real(defn, raw, index, going_back, age)
        return seen[index]

    yield views, "advance", advance


def _answer_values() -> Iterator[Replacement]:
    """Validated answers turned into long-form values: the first result reused."""
    from peiling.surveys import services

    real = services.answer_values
    seen: list[Any] = []

    def answer_values(defn: Any, answers: Any) -> Any:
        if not seen:
            seen.append(real(defn, answers))
        return seen[0]

    yield services, "answer_values", answer_values


def _removal() -> Iterator[Replacement]:
    """The removal code (an HMAC of the token) and its SHA-256: the token's tail instead,
    still unique per submission, as the unique index on the hash requires."""
    from peiling.surveys import removal

    yield removal, "code_for", lambda token: token[-12:]
    yield removal, "hash_of", lambda code: code


def _cookies() -> Iterator[Replacement]:
    """The 303 with its Location only: no "already answered" or removal-code cookie."""
    from flask import current_app, request

    from peiling.surveys import views

    def to_thanks(defn: Any, remember: bool, removal_code: str | None = None) -> Any:
        _form, thanks = views._public_urls(request.script_root, defn.slug, defn.lang)
        return current_app.response_class(
            status=303, headers=[("Location", thanks)], content_type=views._HTML
        )

    yield views, "_to_thanks", to_thanks


def _security_headers() -> Iterator[Replacement]:
    from peiling import web

    yield web.SecurityHeaders, "__call__", lambda self, environ, start: self.app(environ, start)


def _language() -> Iterator[Replacement]:
    from peiling import i18n

    yield i18n, "use", lambda _lang: None


def _hooks() -> Iterator[Replacement]:
    """Peiling's before- and after-request hooks (replaced before the app registers them)."""
    from peiling import extensions, web

    yield web, "guard_request", lambda: None
    yield extensions.StaffLoginManager, "_update_remember_cookie", lambda _self, r: r


PARTS: dict[str, tuple[str, Callable[[], Iterator[Replacement]]]] = {
    "validation": ("validation and conditions of every answer", _validation),
    "answer-values": ("answers turned into long-form values", _answer_values),
    "cookies": ("the 303's two cookies", _cookies),
    "removal": ("removal code and its hash", _removal),
    "security-headers": ("security headers (WSGI middleware)", _security_headers),
    "guard": ("form token check (formguard)", _guard),
    "language": ("choosing the answering language", _language),
    "hooks": ("before/after-request hooks", _hooks),
}


def replacements(names: list[str]) -> list[Replacement]:
    """The stand-ins for the parts `names`, made now (some wrap the current code)."""
    return [r for name in names for r in PARTS[name][1]()]


def switch_off(names: list[str]) -> None:
    """Replace the parts `names`, before the app is created. A part whose code has been
    renamed fails here rather than silently counting nothing."""
    for owner, attribute, stand_in in replacements(names):
        if not hasattr(owner, attribute):
            raise AttributeError(f"{owner!r} has no {attribute!r}: update bench/parts.py")
        setattr(owner, attribute, stand_in)
