"""Workers sharing one command list: claims, cooldown, and clean stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rgd_utils import llm_runs
from rgd_utils.command_claims import CommandClaims
from rgd_utils.config import Paths

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, text=True)


def test_two_workers_take_different_commands_and_a_released_one_is_free_again(tmp_path) -> None:
    first, second = CommandClaims(tmp_path), CommandClaims(tmp_path)
    a = first.take(["gen x", "gen y", "answer"])
    b = second.take(["gen x", "gen y", "answer"])
    assert (a.command, b.command) == ("gen x", "gen y")
    assert second.take(["gen x", "gen y"]) is None
    a.release()
    assert second.take(["gen x", "gen y"]).command == "gen x"
    assert first.lock_path("gen y").read_text() == "gen y\tgen y\n"


def test_commands_that_share_a_unit_of_work_never_run_at_once(tmp_path) -> None:
    def units(command: str) -> list[str]:
        return command.split()[1:]

    first = CommandClaims(tmp_path, units=units)
    second = CommandClaims(tmp_path, units=units)
    held = first.take(["answer a b"])
    assert second.take(["answer b", "answer a c"]) is None  # b, then a, is held
    claim = second.take(["answer b", "answer c"])
    assert claim.command == "answer c"
    held.release()
    assert first.take(["answer a c", "answer b"]).command == "answer b"  # c is still held
    claim.release()
    assert second.take(["answer a c"]).command == "answer a c"  # a unit given back on a miss is free


def test_a_command_finished_here_waits_for_its_cooldown(tmp_path) -> None:
    now = [100.0]
    claims = CommandClaims(tmp_path, cooldown=60, clock=lambda: now[0])
    with claims.take(["answer generated", "embed"]) as claim:
        assert claim.command == "answer generated"
    claims.finished("answer generated")
    now[0] += 59
    assert claims.take(["answer generated", "embed"]).command == "embed"
    assert claims.take(["answer generated"]) is None
    now[0] += 2
    assert claims.take(["answer generated"]).command == "answer generated"


def test_a_killed_worker_leaves_its_command_free(tmp_path) -> None:
    holder = _python(f"""
        from rgd_utils.command_claims import CommandClaims
        claim = CommandClaims({str(tmp_path)!r}).take(["gen x"])
        print(claim.command, flush=True)
        import time; time.sleep(120)
    """)
    assert holder.stdout.readline().strip() == "gen x"
    claims = CommandClaims(tmp_path)
    assert claims.take(["gen x"]) is None
    holder.kill()
    holder.wait(timeout=30)
    assert claims.take(["gen x"]).command == "gen x"


def test_sigterm_to_a_worker_reaches_its_command_which_cleans_up(tmp_path) -> None:
    """The command stands for an answer run: on SIGTERM it runs its exit handlers (which stop
    the model server it started); the worker passes the signal on and waits for it."""
    marker = tmp_path / "stopped"
    command = textwrap.dedent(f"""
        import atexit, time
        from rgd_utils.llm.vllm_server import exit_on_sigterm
        exit_on_sigterm()
        atexit.register(lambda: open({str(marker)!r}, "w").write("server stopped"))
        print("ready", flush=True)
        time.sleep(120)
    """)
    worker = _python(f"""
        import shlex, sys
        from rgd_utils.command_claims import run_command
        from rgd_utils.llm.vllm_server import exit_on_sigterm
        exit_on_sigterm()
        run_command(shlex.join([sys.executable, "-c", {command!r}]))
    """)
    assert worker.stdout.readline().strip() == "ready"  # the command's own output
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 128 + signal.SIGTERM
    assert marker.read_text() == "server stopped"


def test_work_runs_each_command_until_the_cache_is_full(tmp_path, monkeypatch) -> None:
    """The worker loop: runs the first free command, asks todo again, stops when none is left;
    a command another worker holds is skipped."""
    left = ["gen a", "answer b"]
    ran: list[str] = []
    monkeypatch.setattr(llm_runs, "study_progress", lambda *args: None)
    monkeypatch.setattr(llm_runs, "todo_commands", lambda *args: list(left))
    monkeypatch.setattr(llm_runs, "real_questions", lambda *args: None)

    def run(command: str) -> int:
        ran.append(command)
        left.remove(command)
        return 0

    monkeypatch.setattr(llm_runs, "run_command", run)
    monkeypatch.setattr(llm_runs, "get_paths", lambda: Paths(tmp_path))
    other = CommandClaims(tmp_path / "runs" / "claims").take(["gen a"])
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # the other worker finishes while this one waits
        sleeps.append(seconds)
        left.remove(other.command)
        other.release()

    monkeypatch.setattr(time, "sleep", sleep)
    assert llm_runs.work(["cpu"], "py", tmp_path, poll=5.0) == 0
    assert ran == ["answer b"] and sleeps == [5.0] and left == []


def test_work_takes_a_later_preset_s_work_while_another_worker_holds_the_rest(tmp_path, monkeypatch) -> None:
    left = {"cpu": ["answer a"], "paper": ["answer p"]}
    events: list[str] = []
    monkeypatch.setattr(llm_runs, "study_progress", lambda preset, *args: preset.name)
    monkeypatch.setattr(llm_runs, "todo_commands", lambda preset, progress, *args: list(left[progress]))
    monkeypatch.setattr(llm_runs, "real_questions", lambda *args: None)

    def run(command: str) -> int:
        events.append(command)
        next(todo for todo in left.values() if command in todo).remove(command)
        return 0

    monkeypatch.setattr(llm_runs, "run_command", run)
    monkeypatch.setattr(llm_runs, "get_paths", lambda: Paths(tmp_path))
    other = CommandClaims(tmp_path / "runs" / "claims").take(["answer a"])

    def sleep(seconds: float) -> None:  # the other worker finishes while this one waits
        events.append(f"sleep {seconds:g}")
        left["cpu"].remove(other.command)
        other.release()

    monkeypatch.setattr(time, "sleep", sleep)
    assert llm_runs.work(["cpu", "paper"], "py", tmp_path, poll=5.0) == 0
    assert events == ["answer p", "sleep 5"] and left == {"cpu": [], "paper": []}  # not waiting first


def test_work_waits_after_a_failure_and_stops_at_the_second_in_a_row(tmp_path, monkeypatch) -> None:
    ran, sleeps = [], []
    monkeypatch.setattr(llm_runs, "study_progress", lambda *args: None)
    monkeypatch.setattr(llm_runs, "todo_commands", lambda *args: ["answer b"])
    monkeypatch.setattr(llm_runs, "real_questions", lambda *args: None)
    monkeypatch.setattr(llm_runs, "run_command", lambda command: ran.append(command) or 1)
    monkeypatch.setattr(llm_runs, "get_paths", lambda: Paths(tmp_path))
    monkeypatch.setattr(time, "sleep", sleeps.append)
    assert llm_runs.work(["cpu"], "py", tmp_path, poll=7.0) == 1
    assert ran == ["answer b", "answer b"] and sleeps == [7.0]
