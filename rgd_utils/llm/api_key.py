"""The API key of OpenAI-compatible endpoints: read from the environment when a batch starts,
never stored, and redacted from every message built from a server's reply."""

from __future__ import annotations

import os

from .backend import BackendError

#: Environment variables searched for the API key, in order.
API_KEY_VARIABLES = ("RGD_OPENAI_API_KEY", "OPENAI_API_KEY")


def api_key() -> str | None:
    """The API key from ``RGD_OPENAI_API_KEY``, else ``OPENAI_API_KEY``, stripped; None when
    neither is set. A key with white space or control characters inside is refused (a header
    cannot carry it, and the error the HTTP library raises would quote it)."""
    for name in API_KEY_VARIABLES:
        value = (os.environ.get(name) or "").strip()
        if value:
            if any(c.isspace() or not c.isprintable() for c in value):
                raise BackendError(f"{name} holds white space or control characters inside the "
                                   "key; set it to the key alone")
            return value
    return None


def redact(text: str, key: str | None) -> str:
    """``text`` with the API key (if any) replaced, for error messages built from server replies."""
    return text.replace(key, "[redacted]") if key else text
