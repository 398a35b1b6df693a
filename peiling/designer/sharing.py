"""Sharing a poll: its public link (optionally tagged with a source) and QR codes."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import segno
from flask import current_app, has_request_context, request

from peiling.surveys.views import clean_source


def public_base() -> str:
    """The address respondents reach Peiling at: PEILING_PUBLIC_BASE_URL, else the
    request's (links made outside a request, in mail, need the setting)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        if not has_request_context():
            raise RuntimeError("links outside a request need PEILING_PUBLIC_BASE_URL")
        base = request.host_url
    return str(base)


def public_url(base: str, slug: str, source: str | None = None) -> str:
    """The absolute link respondents open; `source` tags where they found it (?bron=)."""
    url = f"{base.rstrip('/')}/p/{slug}"
    tag = clean_source(source)
    return f"{url}?{urlencode({'bron': tag})}" if tag else url


def _code(url: str) -> segno.QRCode:
    # Error correction M survives a crumpled poster; segno picks the smallest version.
    return segno.make_qr(url, error="m")


def qr_svg(url: str) -> bytes:
    """An SVG QR code of `url` that scales to any size (for posters)."""
    out = io.BytesIO()
    _code(url).save(out, kind="svg", scale=10, border=4, xmldecl=False, title=url)
    return out.getvalue()


def qr_png(url: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
