"""_files.atomic_write, the kit's one atomic write: whole or nothing, usual permissions, no temp left behind."""
from __future__ import annotations

import os
import stat

import pytest

from colorkit._files import atomic_write


def test_bytes_text_and_a_writer(tmp_path):
    assert atomic_write(tmp_path / "a" / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"  # parents made
    assert atomic_write(tmp_path / "t.json", "grün\n").read_text(encoding="utf-8") == "grün\n"
    assert atomic_write(tmp_path / "w.bin", lambda f: f.write(b"xyz")).read_bytes() == b"xyz"
    old = os.umask(0o022)
    try:
        mode = stat.S_IMODE(atomic_write(tmp_path / "m.txt", "x").stat().st_mode)
    finally:
        os.umask(old)
    assert mode == 0o644  # not mkstemp's 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = atomic_write(tmp_path / "state.pt", b"good")

    def half(f):
        f.write(b"ha")
        raise KeyboardInterrupt("killed mid-write")

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half)
    assert path.read_bytes() == b"good" and sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]
