"""Whether typed text is an e-mail address we can store and mail to.

One check for staff accounts, volunteers and panel members alike. The length bound matters
as much as the shape: every address column is VARCHAR(254) (RFC 5321's limit on a path),
and PostgreSQL refuses a longer string where SQLite stores it, so an address that passed
a shape-only check was a 500 on the production database alone.
"""

from __future__ import annotations

import re

MAX_LENGTH = 254
# A local part of at most 64 characters (RFC 5321), a domain with a dot and a top level
# of two or more letters; no spaces. Deliverability is for the confirmation mail to prove.
_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def is_email(text: str) -> bool:
    return len(text) <= MAX_LENGTH and _SHAPE.match(text) is not None
