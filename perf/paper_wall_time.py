"""How long the paper's full study (both pools) takes on GPU servers, from the measured figures.

The work is counted from the ``paper`` presets: every model of Pool-Large and Pool-Small answers
every real question of the four benchmarks and every generated item (``attempts`` per benchmark and
generator), and each generator makes its calls. The two measured figures come from this folder:

* ``engine_throughput.csv``: vLLM's gain from requests in flight over one at a time (generation,
  the mode of chain-of-thought answers). It was measured on 2 CPU cores, where batching gains
  least, so on a GPU it is a lower bound and the estimate an upper bound;
* ``client_throughput.csv``: the requests per second one client process sustains, which caps
  the whole run whatever the servers do.

What no run here can measure is a GPU server's time for one chain-of-thought answer alone:
``--answer-seconds`` takes it as an assumption (a range by default) and the table says so.

    .venv/bin/python perf/paper_wall_time.py      # writes results/paper_wall_time.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from rgd_utils.benchmarks.formats import MEDMCQA_ROWS
from rgd_utils.config import get_preset

HERE = Path(__file__).resolve().parent / "results"
COLUMNS = ["requests", "answer_seconds_alone", "servers", "in_flight_gain", "client_requests_per_s",
           "answers", "generation_calls", "days"]
#: Real questions per benchmark, from the datasets' public cards (MMLU-Pro's test split, all of
#: SuperGPQA, the first MedMCQA rows the loader keeps, BBEH's nine tasks with discrete answers).
REAL_QUESTIONS = {"mmlu_pro": 12_032, "supergpqa": 26_529, "medmcqa_hub": MEDMCQA_ROWS,
                  "bbeh": 1_720}


def work() -> tuple[int, int]:
    """Pool answers and generation calls of the paper's study with both pools."""
    answers = generation = 0
    for name in ("paper", "paper-small"):
        preset = get_preset(name)
        benchmarks = preset.study_benchmarks
        generated = sum(g.attempts for g in preset.generators) * len(benchmarks)
        real = sum(REAL_QUESTIONS[b] for b in benchmarks)
        answers += len(preset.experts) * (real + generated)
        generation = generated  # the same generators and calls for both pools
    return answers, generation


def measured_gain(path: Path) -> float:
    """vLLM's best generation rate over its rate at one request in flight."""
    rates = (pd.read_csv(path).query("engine == 'vllm' and mode == 'generation'")
             .set_index("in_flight")["items_per_s"])
    return float(rates.max() / rates[1])


def client_ceiling(path: Path) -> float:
    """The most requests per second the client reached against the loopback stub."""
    return float(pd.read_csv(path)["requests_per_s"].max())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answer-seconds", type=float, nargs="+", default=[10.0, 30.0],
                        help="ASSUMED seconds a GPU server takes for one answer alone")
    parser.add_argument("--servers", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--out", type=Path, default=HERE / "paper_wall_time.csv")
    args = parser.parse_args()
    answers, generation = work()
    gain = measured_gain(HERE / "engine_throughput.csv")
    ceiling = client_ceiling(HERE / "client_throughput.csv")
    rows = []
    for requests, factor in (("one at a time", 1.0), ("in flight", gain)):
        for seconds in args.answer_seconds:
            for servers in args.servers:
                rate = min(servers * factor / seconds, ceiling)  # requests per second of the run
                rows.append({"requests": requests, "answer_seconds_alone": seconds,
                             "servers": servers, "in_flight_gain": round(factor, 2),
                             "client_requests_per_s": ceiling,
                             "answers": answers, "generation_calls": generation,
                             "days": round((answers + generation) / rate / 86_400, 1)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(args.out, index=False)
    for row in rows:
        print(row)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
