"""Reading a refused form's problems from its HTML: the summary on top, the message beside
each field (designer/_problems.html, panel/_field.html and the public form share the markup)."""

from __future__ import annotations

import re
from html import unescape


def beside(html: str, element: str) -> str | None:
    """The message shown beside form element `element`, checking that the element points
    to it (aria-describedby) and is marked invalid; None when there is none."""
    found = re.search(rf'<p class="error-msg" id="{element}-fout">(.*?)</p>', html, re.S)
    if found is None:
        assert f'aria-describedby="{element}-fout"' not in html
        return None
    tag = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{element}"[^>]*>', html)
    assert tag, f"no form element {element}"
    assert 'aria-invalid="true"' in tag.group(0)
    assert f'aria-describedby="{element}-fout"' in tag.group(0)
    return unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def summary(html: str) -> list[tuple[str | None, str]]:
    """(linked element, text) of each line of the error summary on top."""
    box = re.search(
        r'<div class="error-summary" id="foutmeldingen" role="alert".*?</ul>', html, re.S
    )
    assert box, "no error summary"
    lines = []
    for line in re.findall(r"<li>(.*?)</li>", box.group(0), re.S):
        link = re.match(r'<a href="#([^"]+)">', line)
        lines.append((link.group(1) if link else None, unescape(re.sub(r"<[^>]+>", "", line))))
    return lines
