"""An API key planted in the environment is sent to the endpoint and nowhere else: not to the
LLM cache, the logs, the responses, an executed notebook or the HTML report, even when the
server echoes it back in its error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from test_openai_backend import FakeServer, chat_reply  # the loopback fake of the backend tests

from rgd_utils.llm.backend import BackendError
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.registry import load_model
from rgd_utils.report import build_report
from rgd_utils.responses import Expert, answer_questions

ROOT = Path(__file__).resolve().parents[1]
PLANTED = "sk-rgd-planted-5e1f0c7d9a3b4e21"
MODEL = "Qwen3-32"  # a paper-preset model: served by an OpenAI-compatible endpoint


def respond(request: dict) -> tuple:
    """Every first attempt fails with the key echoed back; the retry answers (B)."""
    if request["index"] % 2 == 0:
        return 503, {"error": {"message": f"busy; you sent {request['headers']['Authorization']}"}}
    return 200, chat_reply("Thinking... The answer is (B)", logprobs=[-0.25, -0.5])


def questions(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"qid": [f"q{i}" for i in range(n)], "question": [f"What is {i}+1?" for i in range(n)],
                         "options": [[str(i), str(i + 1), str(i + 2), str(i + 3)] for i in range(n)],
                         "answer": ["B"] * n, "source": ["real"] * n})


def files_with_key(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and PLANTED.encode() in p.read_bytes()]


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer(respond)
    monkeypatch.setenv("RGD_OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("RGD_OPENAI_BASE_URL", fake.url)
    yield fake
    fake.close()


def test_the_key_is_sent_but_reaches_no_cache_log_or_table(server, tmp_path, caplog, capsys):
    cache = LLMCache(tmp_path / "cache", mode="readwrite")
    with caplog.at_level(logging.DEBUG):
        table = answer_questions(load_model(MODEL, cache), Expert(MODEL, "cot"), questions(),
                                 progress=False)
    assert table["choice"].tolist() == ["B", "B", "B"]
    assert {r["headers"]["Authorization"] for r in server.requests} == {f"Bearer {PLANTED}"}
    assert any("503" in r.getMessage() for r in caplog.records)  # the retries were logged...
    out, err = capsys.readouterr()
    assert PLANTED not in caplog.text + out + err  # ...without the key the server echoed
    assert PLANTED not in table.to_csv()
    assert (tmp_path / "cache").exists() and not files_with_key(tmp_path / "cache")


def test_a_refused_call_reports_the_server_message_without_the_key(monkeypatch, tmp_path):
    def refuse(request: dict) -> tuple:
        return 401, {"error": {"message": f"bad key {request['headers']['Authorization']}"}}

    fake = FakeServer(refuse)
    monkeypatch.setenv("RGD_OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("RGD_OPENAI_BASE_URL", fake.url)
    try:
        with pytest.raises(BackendError) as caught:
            answer_questions(load_model(MODEL, LLMCache(tmp_path / "cache", mode="readwrite")),
                             Expert(MODEL, "cot"), questions(1), progress=False)
    finally:
        fake.close()
    assert "401" in str(caught.value) and "bad key" in str(caught.value)
    assert PLANTED not in str(caught.value) and PLANTED not in repr(caught.value.args)


@pytest.mark.slow
def test_an_executed_notebook_and_its_report_never_show_the_key(server, tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import logging, sys\nlogging.basicConfig(stream=sys.stdout, level=logging.DEBUG)",
        "from rgd_utils.llm.cache import LLMCache\nfrom rgd_utils.llm.registry import load_model\n"
        "from rgd_utils.responses import Expert, answer_one\n"
        f"llm = load_model({MODEL!r}, LLMCache({str(tmp_path / 'cache')!r}, mode='readwrite'))\n"
        "llm, llm.backend if hasattr(llm, 'backend') else None",
        f"answer_one(llm, Expert({MODEL!r}, 'cot'), 'What is 1+1?', ['1', '2', '3', '4'])",
    )]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    runs = tmp_path / "runs" / "cpu"
    runs.mkdir(parents=True)
    nbformat.write(notebook, tmp_path / "leak.ipynb")
    papermill.execute_notebook(str(tmp_path / "leak.ipynb"), str(runs / "leak.ipynb"),
                               kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    executed = (runs / "leak.ipynb").read_text()
    assert "503" in executed and "'B'" in executed  # it did log the retry and answer
    index = build_report([runs], tmp_path / "figures", tmp_path / "tables", tmp_path / "report")
    assert index.exists()
    assert files_with_key(tmp_path) == []
