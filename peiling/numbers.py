"""Reading whole numbers from text that people type and browsers post.

`text.isdigit() and int(text)` looks safe and is not: isdigit() is also true for '²' and
'①', which int() refuses, and int() refuses more than 4,300 digits. Both were answered
with a 500. isdecimal() is true exactly for the digits int() reads, in any script ('17',
'１７' from a Japanese keyboard), and a bound on the length keeps int() within its limit.
"""

from __future__ import annotations

# Enough for any count, year, age or page index people mean; less than int()'s 4,300.
MAX_DIGITS = 9


def whole_number(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The number `text` spells in at most `max_digits` decimal digits, else None.

    No sign, no spaces, no separators: callers strip what they allow."""
    if text.isdecimal() and len(text) <= max_digits:
        return int(text)
    return None
