"""Contact details encrypted at rest: volunteers' names, email addresses and phone numbers.

Fernet (AES-128-CBC with HMAC-SHA256, from the `cryptography` package). The key comes from
PEILING_ENCRYPTION_KEY (a Fernet key; several, comma-separated, to rotate: the first
encrypts, all decrypt), or else from instance/encryption_key, made on first use; never
from the repository. Every server of one deployment needs the same key. Only the pages and
exports for users with the volunteers permission decrypt.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from peiling.config import instance_file

EXTENSION = "peiling.fernet"


def _fernet() -> MultiFernet:
    app = current_app
    fernet = app.extensions.get(EXTENSION)
    if fernet is None:
        configured = app.config.get("ENCRYPTION_KEY") or instance_file(
            Path(app.instance_path), "encryption_key", lambda: Fernet.generate_key().decode()
        )
        keys = [k.strip() for k in str(configured).split(",") if k.strip()]
        fernet = app.extensions[EXTENSION] = MultiFernet([Fernet(k) for k in keys])
    return fernet  # type: ignore[no-any-return]


def encrypt(text: str | None) -> str | None:
    return None if text is None else _fernet().encrypt(text.encode()).decode()


def decrypt(token: str | None) -> str | None:
    """The plain text, or None for a value no configured key opens (a lost key)."""
    if token is None:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None
