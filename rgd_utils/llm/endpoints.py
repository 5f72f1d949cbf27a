"""Where a served model answers: one endpoint on a laptop, several replicas on a cluster.

A model's endpoints come from, in order:

1. the endpoints file (``RGD_ENDPOINTS``, a TOML path), one table per model::

       [models."Qwen3-32"]
       endpoints = [
         { url = "http://gpu-node-1:8000/v1", in_flight = 64 },
         { url = "http://gpu-node-2:8000/v1", in_flight = 64 },
       ]

       [models."Llama70"]
       endpoints = [{ url = "http://127.0.0.1:8001/v1", in_flight = 16, max_tokens = 256 }]

2. ``RGD_ENDPOINT_<NAME>`` (the name upper-cased, other characters as ``_``), one URL;
3. ``RGD_OPENAI_BASE_URL``, one URL for every model.

``in_flight`` is how many requests the client keeps pending on that endpoint (default
:data:`DEFAULT_IN_FLIGHT`, or ``RGD_IN_FLIGHT``). A vLLM server batches what it has pending, so a
GPU server wants tens of requests in flight; the CPU build here saturates at about 8-16.

``max_tokens`` (optional) is the most new tokens a generation sent to that endpoint may ask for:
a request asking for more is lowered to it. A server's context is a property of the server (a
small model, or a short ``--max-model-len``, cannot take the paper's 16,384 new tokens), so the
cap lives with its endpoint. A capped answer is not the answer the uncapped call would give, so
the cap is part of the model's identity, hence of every cache key (:func:`identity_with_cap`);
the endpoints of one model must therefore agree on it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: Requests kept pending per endpoint unless the endpoints file or ``RGD_IN_FLIGHT`` says otherwise.
DEFAULT_IN_FLIGHT = 8


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible server of a model.

    Attributes
    ----------
    base_url : str
        The API root, e.g. ``http://127.0.0.1:8000/v1``.
    in_flight : int
        Requests kept pending on it at once.
    max_tokens : int or None
        Most new tokens a generation sent here may ask for (None: what the call asks).
    """

    base_url: str
    in_flight: int = DEFAULT_IN_FLIGHT
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an endpoint must be an http(s) URL, got {safe_url(self.base_url)!r}")
        if parts.username or parts.password:
            raise ValueError("an endpoint URL must not carry credentials; set RGD_OPENAI_API_KEY instead")
        if parts.query:
            raise ValueError(f"an endpoint URL must not carry a query string ({safe_url(self.base_url)}): "
                             "put the API key in RGD_OPENAI_API_KEY")
        if self.in_flight < 1:
            raise ValueError(f"in_flight must be >= 1, got {self.in_flight}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")

    def cap(self, max_tokens: int) -> int:
        """The new-token budget of a generation sent here that asks for ``max_tokens``."""
        return max_tokens if self.max_tokens is None else min(max_tokens, self.max_tokens)


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment: what may appear in a message or a log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _env_in_flight() -> int:
    value = os.environ.get("RGD_IN_FLIGHT", "")
    try:
        return int(value) if value else DEFAULT_IN_FLIGHT
    except ValueError:
        raise ValueError(f"RGD_IN_FLIGHT must be a whole number, got {value!r}") from None


def read_endpoints_file(path: Path) -> dict[str, tuple[Endpoint, ...]]:
    """Every model's endpoints from a TOML file (format in the module docstring)."""
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the endpoints file {path}: {error}") from None
    models = table.get("models", {})
    out = {}
    for name, entry in models.items():
        rows = entry.get("endpoints") if isinstance(entry, dict) else None
        if not rows:
            raise ValueError(f"{path}: model {name!r} lists no endpoints")
        try:
            out[name] = tuple(Endpoint(row["url"], int(row.get("in_flight", _env_in_flight())),
                                       _whole_or_none(row.get("max_tokens")))
                              for row in rows)
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: model {name!r}: each endpoint needs a url ({error})") from None
        except ValueError as error:
            raise ValueError(f"{path}: model {name!r}: {error}") from None
        caps = {endpoint.max_tokens for endpoint in out[name]}
        if len(caps) > 1:
            raise ValueError(f"{path}: model {name!r}: its endpoints set different max_tokens "
                             f"({sorted(caps, key=str)}); an answer would depend on the replica that "
                             "served it: give every endpoint of a model the same max_tokens")
    return out


def _whole_or_none(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"max_tokens must be a whole number, got {value!r}")
    return value


def env_name(name: str) -> str:
    """The model-specific environment variable: ``RGD_ENDPOINT_<NAME>``."""
    return "RGD_ENDPOINT_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def endpoints_for(name: str) -> tuple[Endpoint, ...]:
    """The endpoints serving model ``name``; a clear error when none is configured."""
    path = os.environ.get("RGD_ENDPOINTS")
    if path:
        found = read_endpoints_file(Path(path)).get(name)
        if found:
            return found
    url = os.environ.get(env_name(name)) or os.environ.get("RGD_OPENAI_BASE_URL")
    if not url:
        raise KeyError(
            f"no endpoint for model {name!r}: list it in the endpoints file (RGD_ENDPOINTS), or set "
            f"{env_name(name)} or RGD_OPENAI_BASE_URL to the base URL of an OpenAI-compatible server "
            "(e.g. http://localhost:8000/v1 for `vllm serve`)"
        )
    return (Endpoint(url, _env_in_flight()),)


def identity_with_cap(name: str, identity: dict) -> dict:
    """A served model's identity, with its endpoints' ``max_tokens`` cap when the endpoints file
    sets one (the cache keys of capped answers differ from those of the uncapped calls)."""
    path = os.environ.get("RGD_ENDPOINTS")
    found = read_endpoints_file(Path(path)).get(name) if path else None
    cap = found[0].max_tokens if found else None
    return identity if cap is None else {**identity, "max_tokens_cap": cap}
