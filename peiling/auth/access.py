"""Who may open which staff page, and which municipalities and details they may see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from peiling.auth.models import Role

F = TypeVar("F", bound=Callable[..., Any])

RESULTS = (Role.ADMIN, Role.RESEARCHER, Role.ANALYST)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Let in logged-in staff with one of `roles` (403 for others, login for anonymous)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class Scope:
    """What one user may see of results: some municipalities or all, and volunteers or not.

    Analysis services take a Scope and filter in SQL, so a limited analyst's pages and
    files never contain another municipality's rows.
    """

    municipalities: frozenset[str] | None  # None: every municipality
    volunteers: bool

    def allows(self, municipality: str | None) -> bool:
        return self.municipalities is None or municipality in self.municipalities


def scope_of(user: Any) -> Scope:
    return Scope(user.municipalities, bool(user.can_see_volunteers))
