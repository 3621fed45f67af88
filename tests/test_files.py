"""Atomic directory writes: what a writer killed mid-save leaves behind is cleaned up or put back."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_ai.errors import ArtifactError
from lepton_ai.files import atomic_directory, recover_directory


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _model(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "lepton.json").write_text(text)
    return path


def _side(parent: Path, name: str, kind: str, pid: int | str) -> Path:
    side = parent / f".{name}.lepton.{kind}-{pid}-abc123"
    side.mkdir()
    return side


def test_a_dead_writers_temporary_directory_is_removed(tmp_path) -> None:
    target = _model(tmp_path / "m", "v1")
    _side(tmp_path, "m", "tmp", _dead_pid())
    recover_directory(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert (target / "lepton.json").read_text() == "v1"


def test_an_old_model_moved_aside_is_put_back_when_the_swap_was_cut(tmp_path) -> None:
    """Killed between moving the old model aside and renaming the new one in: the old one returns."""
    side = _side(tmp_path, "m", "old", _dead_pid())
    _model(side / "model", "v1")
    recover_directory(tmp_path / "m")
    assert (tmp_path / "m" / "lepton.json").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_an_old_model_is_dropped_when_the_new_one_is_in_place(tmp_path) -> None:
    _model(tmp_path / "m", "v2")
    side = _side(tmp_path, "m", "old", _dead_pid())
    _model(side / "model", "v1")
    recover_directory(tmp_path / "m")
    assert (tmp_path / "m" / "lepton.json").read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_live_writers_directories_are_left_alone(tmp_path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        side = _side(tmp_path, "m", "tmp", live.pid)
        recover_directory(tmp_path / "m")
        assert side.is_dir()
    finally:
        live.kill()
        live.wait()


def test_directories_of_other_targets_are_not_touched(tmp_path) -> None:
    other = _side(tmp_path, "other", "tmp", _dead_pid())
    recover_directory(tmp_path / "m")
    assert other.is_dir()


def test_the_next_save_cleans_up_and_the_write_lands(tmp_path) -> None:
    _side(tmp_path, "m", "tmp", _dead_pid())
    with atomic_directory(tmp_path / "m") as tmp:
        (tmp / "lepton.json").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_full_disk_is_an_artifact_error_and_replaces_nothing(tmp_path) -> None:
    target = _model(tmp_path / "m", "v1")
    refused = pytest.raises(ArtifactError, match=r"m: could not be written \(No space left on device.*Free disk space")
    with refused, atomic_directory(target) as tmp:
        (tmp / "lepton.json").write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "weights"))
    assert (target / "lepton.json").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_save_killed_with_sigkill_is_recovered_by_the_next_load(tmp_path) -> None:
    """A real writer killed while its temporary directory exists: the next save finds nothing stale."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from lepton_ai.files import atomic_directory\n"
        "with atomic_directory(Path(sys.argv[1])) as tmp:\n"
        "    (tmp / 'lepton.json').write_text('x')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "m")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    writer.kill()
    writer.wait()
    assert any(p.name.startswith(".m.lepton.tmp-") for p in tmp_path.iterdir())
    recover_directory(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
