"""How well the client keeps an endpoint busy: requests per second against a loopback stub that
answers every request after a fixed delay, at 1 to 64 requests in flight.

A perfect client reaches ``in_flight / delay`` requests per second; ``efficiency`` is the
measured rate over that. The stub runs in a process of its own (asyncio, HTTP/1.1 keep-alive,
one canned completion), so the client's work is what is measured, on the same 2 cores. The
client is the study's own path: ``CachedLLM.run`` (cache off) over ``OpenAIBackend.stream``.

    .venv/bin/python perf/client_throughput.py            # writes perf/results/client_throughput.csv

Target (2 cores): efficiency at least 0.8 at 32 in flight with a 0.2 s delay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path

import pandas as pd

from rgd_utils.llm.backend import GenerationParams, LLMRequest
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.llm.openai_http import OpenAIBackend

RESULTS = Path(__file__).resolve().parent / "results" / "client_throughput.csv"
COLUMNS = ["in_flight", "delay_s", "requests_per_s", "efficiency"]
REPLY = json.dumps({"id": "x", "object": "text_completion", "created": 0, "model": "stub",
                    "choices": [{"index": 0, "text": " B", "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}).encode()


def serve_stub(port: int, delay: float) -> None:
    """An OpenAI-compatible stub: every POST gets :data:`REPLY` after ``delay`` seconds."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(REPLY)).encode() + b"\r\n\r\n" + REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the stub did not start")


def measure(url: str, in_flight: int, n: int) -> float:
    """Requests per second of ``n`` distinct generation requests through the study's client."""
    backend = OpenAIBackend(url, "stub", in_flight=in_flight, max_retries=0)
    llm = CachedLLM("stub", {"stub": True}, lambda: backend, LLMCache(Path("."), mode="off"))
    requests = [LLMRequest(f"prompt {i}", params=GenerationParams(max_tokens=1)) for i in range(n)]
    start = time.perf_counter()
    llm.run(requests)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--seconds", type=float, default=4.0, help="target length of each measurement")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    port = free_port()
    stub = multiprocessing.Process(target=serve_stub, args=(port, args.delay), daemon=True)
    stub.start()
    try:
        wait_listening(port)
        url = f"http://127.0.0.1:{port}/v1"
        measure(url, 4, 8)  # warm-up: imports, first connections
        rows = []
        for in_flight in args.in_flight:
            ideal = in_flight / args.delay
            rate = measure(url, in_flight, max(in_flight, int(ideal * args.seconds)))
            rows.append({"in_flight": in_flight, "delay_s": args.delay,
                         "requests_per_s": round(rate, 2), "efficiency": round(rate / ideal, 3)})
            print(rows[-1], flush=True)
    finally:
        stub.terminate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
