"""Writes lose nothing and leave nothing behind (``graphir.atomic``, ``specs/security.md``):
unwritable destinations are one typed error (CLI: exit 2, one line), a failed write keeps
the previous file and removes its temporary file, and the temporary file of a process
killed with ``kill -9`` mid-write is swept by the next write to the folder."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import graphir
from graphir import Graph, Node, TensorType, Value
from graphir.app.cli import cli
from graphir.atomic import atomic_output, sweep_stale_temps
from graphir.dtypes import DType
from graphir.errors import OutputPathError

ROOT = Path(__file__).resolve().parents[2]


def _graph(units: int = 3, inputs: int = 4) -> Graph:
    x = Value("x", TensorType(DType.FLOAT32, ("batch", inputs)))
    rng = np.random.default_rng(0)
    k = rng.normal(size=(inputs, units)).astype(np.float32)
    node = Node("dense", "fc", ("x", "fc/kernel"),
                (Value("fc", TensorType(DType.FLOAT32, ("batch", units))),),
                {"units": units, "activation": "linear"})
    return Graph("g", (x,), ("fc",), (node,), {"fc/kernel": k})


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src.gir"
    graphir.save(_graph(), path)
    return path


def _cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def _one_line_exit_2(r, needle: str) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("graphir: error: ") and needle in lines[0]
    assert "Traceback" not in r.stderr
    return lines[0]


def test_missing_folder_is_one_line_exit_2(tmp_path, source):
    with pytest.raises(OutputPathError, match="does not exist"):
        graphir.save(_graph(), tmp_path / "nope" / "g.gir")
    _one_line_exit_2(_cli("convert", source, tmp_path / "nope" / "o.gir"), "does not exist")
    assert not (tmp_path / "nope").exists()


def test_destination_that_is_a_directory(tmp_path, source):
    (tmp_path / "d.gir").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        graphir.save(_graph(), tmp_path / "d.gir")
    _one_line_exit_2(_cli("convert", source, tmp_path / "d.gir"), "is a directory")
    assert (tmp_path / "d.gir").is_dir() and list((tmp_path / "d.gir").iterdir()) == []


def test_parent_that_is_a_file(tmp_path, source):
    _one_line_exit_2(_cli("convert", source, source / "o.gir"), "is not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path, source):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "o.gir").write_bytes(b"old")
    folder.chmod(0o500)
    try:
        _one_line_exit_2(_cli("convert", source, folder / "o.gir"), "cannot write in folder")
        assert (folder / "o.gir").read_bytes() == b"old"
    finally:
        folder.chmod(0o700)


def _o_tmpfile_fails(monkeypatch, code: int) -> None:
    """Make ``os.open(folder, O_TMPFILE)`` fail with errno ``code``."""
    real_open = os.open

    def failing(path, flags, *args, **kwargs):
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(code, os.strerror(code))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing)


def test_refused_temp_file_creation_is_typed(tmp_path, monkeypatch):
    # what a read-only folder does when not running as root (the test above)
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputPathError, match="Permission denied"), \
            atomic_output(tmp_path / "m.keras"):
        pass
    _o_tmpfile_fails(monkeypatch, errno.EACCES)
    with pytest.raises(OutputPathError, match="Permission denied"):
        graphir.save(_graph(), tmp_path / "g.gir")
    assert list(tmp_path.iterdir()) == []


def test_without_o_tmpfile_the_named_temporary_is_used(tmp_path, monkeypatch):
    _o_tmpfile_fails(monkeypatch, errno.EOPNOTSUPP)
    graphir.save(_graph(), tmp_path / "g.gir")
    assert [p.name for p in tmp_path.iterdir()] == ["g.gir"]
    assert graphir.load(tmp_path / "g.gir").weights["fc/kernel"].shape == (4, 3)


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes beyond the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 ** 20, 2 ** 20))
    from graphir.app.cli import main
    sys.argv = ["graphir", "convert", sys.argv[1], sys.argv[2]]
    main()
""")


def test_full_disk_keeps_the_old_file_and_no_temp_file(tmp_path):
    big = tmp_path / "big.gir"
    graphir.save(_graph(units=512, inputs=1024), big)  # 2 MiB of weights: over the limit
    out = tmp_path / "out"
    out.mkdir()
    (out / "o.gir").write_bytes(b"previous")
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(big), str(out / "o.gir")],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "writing failed" in lines[0] and "o.gir" in lines[0], lines
    assert (out / "o.gir").read_bytes() == b"previous"
    assert sorted(p.name for p in out.iterdir()) == ["o.gir"]


def test_a_failed_writer_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="emitter bug"), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("emitter bug")  # not an I/O failure: propagates unchanged
    assert target.read_bytes() == b"previous" and list(tmp_path.iterdir()) == [target]
    with pytest.raises(OutputPathError, match="No space left"), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_bytes() == b"previous" and list(tmp_path.iterdir()) == [target]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_temps_of_dead_graphir_processes(tmp_path):
    dead, live = _dead_pid(), subprocess.Popen(["sleep", "30"])
    try:
        stale_file = tmp_path / f".m.gir.graphir-{dead}-abcd1234.tmp.gir"
        stale_dir = tmp_path / f".m.onnx.graphir-{dead}-abcd_234"
        running = tmp_path / f".m.gir.graphir-{live.pid}-abcd1234.tmp.gir"
        foreign = tmp_path / f".m.gir.other-{dead}-abcd1234.tmp.gir"
        for p in (stale_file, running, foreign):
            p.write_bytes(b"x")
        stale_dir.mkdir()
        (stale_dir / "m.onnx").write_bytes(b"x")
        assert sorted(sweep_stale_temps(tmp_path)) == sorted([stale_file.name, stale_dir.name])
        assert running.exists() and foreign.exists()
    finally:
        live.kill()
        live.wait()


KILLED_WRITE = textwrap.dedent("""
    import sys
    import numpy as np
    import graphir
    from graphir import Graph, Node, TensorType, Value
    from graphir.atomic import atomic_output
    from graphir.dtypes import DType
    if sys.argv[2] == "gir":  # graphir.save: an unnamed (O_TMPFILE) file until complete
        n = 8192
        x = Value("x", TensorType(DType.FLOAT32, ("batch", n)))
        k = np.ones((n, n), np.float32)   # 256 MiB
        node = Node("dense", "fc", ("x", "fc/kernel"),
                    (Value("fc", TensorType(DType.FLOAT32, ("batch", n))),),
                    {"units": n, "activation": "linear"})
        print("ready", flush=True)
        graphir.save(Graph("g", (x,), ("fc",), (node,), {"fc/kernel": k}), sys.argv[1])
    else:  # a writer that needs a path (as Keras does): a named temporary file
        print("ready", flush=True)
        with atomic_output(sys.argv[1]) as tmp, open(tmp, "wb") as f:
            for _ in range(256):
                f.write(bytes(2 ** 20))
                f.flush()
""")


def _kill_mid_write(target: Path, how: str, started) -> None:
    """Start a child writing ``target`` the way ``how`` says; kill -9 it once
    ``started(pid)`` says the write is under way (at most 30 s)."""
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITE, str(target), how],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    for _ in range(6000):
        if started(proc.pid):
            break
        time.sleep(0.005)
    else:
        proc.kill()
        pytest.fail("the child never started writing")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _unnamed_file_written(folder: Path):
    def started(pid: int) -> bool:  # an O_TMPFILE file of the child holds some data
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                link = os.readlink(fd)
                if link.startswith(str(folder)) and link.endswith("(deleted)"):
                    return fd.stat().st_size > 2 ** 20
            except OSError:
                continue
        return False
    return started


def test_kill_9_during_a_large_gir_write_leaves_nothing(tmp_path):
    target = tmp_path / "model.gir"
    graphir.save(_graph(), target)
    before = target.read_bytes()
    _kill_mid_write(target, "gir", _unnamed_file_written(tmp_path))
    assert target.read_bytes() == before  # the previous model is intact
    assert [p.name for p in tmp_path.iterdir()] == ["model.gir"]  # and nothing else, at once


def test_kill_9_during_a_path_based_write_is_swept_by_the_next_write(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"previous")

    def started(pid: int) -> bool:
        for temp in tmp_path.glob(f".model.keras.graphir-{pid}-*"):
            try:  # the writer may rename or replace its temporary file meanwhile
                if temp.stat().st_size > 2 ** 20:
                    return True
            except FileNotFoundError:
                continue
        return False

    _kill_mid_write(target, "path", started)
    assert target.read_bytes() == b"previous"
    left = [p.name for p in tmp_path.iterdir() if p != target]
    assert len(left) == 1 and ".graphir-" in left[0]  # what kill -9 leaves with a path writer
    graphir.save(_graph(units=5), tmp_path / "other.gir")  # the next write sweeps it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "other.gir"]
