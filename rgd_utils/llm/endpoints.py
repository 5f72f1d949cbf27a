"""Where a served model answers: one endpoint on a laptop, several replicas on a cluster.

A model's endpoints come from, in order:

1. the endpoints file (``RGD_ENDPOINTS``, a TOML path), one table per model::

       [models."Qwen3-32"]
       endpoints = [
         { url = "http://gpu-node-1:8000/v1", in_flight = 64 },
         { url = "http://gpu-node-2:8000/v1", in_flight = 64 },
       ]

2. ``RGD_ENDPOINT_<NAME>`` (the name upper-cased, other characters as ``_``), one URL;
3. ``RGD_OPENAI_BASE_URL``, one URL for every model.

``in_flight`` is how many requests the client keeps pending on that endpoint (default
:data:`DEFAULT_IN_FLIGHT`, or ``RGD_IN_FLIGHT``). A vLLM server batches what it has pending, so a
GPU server wants tens of requests in flight; the CPU build here saturates at about 8-16.
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
    """

    base_url: str
    in_flight: int = DEFAULT_IN_FLIGHT

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
            out[name] = tuple(Endpoint(row["url"], int(row.get("in_flight", _env_in_flight())))
                              for row in rows)
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: model {name!r}: each endpoint needs a url ({error})") from None
    return out


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
