"""The hostile corpus (``corpus.py``, generated, >= 60 files) through the Python API and
``graphir inspect``, in one child process whose working directory holds planted
``keras_nlp/``, ``keras_hub/`` and ``my_evil.py`` modules (``run_corpus.py``).

For every entry: the exact error type, a GraphIRError, one line naming the file, no
warning escaping, and (``.keras``/``.gir``) exit 2 with one ``graphir: error:`` line and
no traceback from ``inspect``, ``check``, ``convert`` (whose existing destination stays
untouched) and ``verify``.  For the run: no canary written by a would-be payload, no temporary
folder left behind, and a peak resident memory under :data:`PEAK_RSS_BOUND` although
several entries declare 2 to 12 GB (a broken check would exceed it or run a payload).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: TensorFlow, Keras and onnx imported take ~0.7 GiB; the largest refused entry
#: declares 12 GB and the bombs 24 MiB to 200 MiB of decompressed bytes
PEAK_RSS_BOUND = 1.5 * 2 ** 30

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attacker_cwd")
    canary = tmp_path_factory.mktemp("canary")
    results = tmp_path_factory.mktemp("results") / "results.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "run_corpus.py"), str(folder), str(canary),
                           str(results)], check=False, cwd=folder, env=env, capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(results.read_text())
    data["stderr"] = proc.stderr
    return data


def test_the_corpus_is_large_and_covers_every_format(report):
    kinds = [e["kind"] for e in report["entries"]]
    assert len(kinds) >= 60
    assert kinds.count("keras") >= 40 and kinds.count("gir") >= 15 and kinds.count("onnx") >= 10


def test_the_valid_twins_load(report):
    # the base model, graph and ONNX model (external data beside it) the entries were
    # made from: 2 dense layers, 1 node, 16 bytes of external data
    assert report["accepted"] == {"keras": 2, "gir": 1, "onnx": 16}


def test_every_entry_raises_its_exact_error_type(report):
    wrong = [(e["name"], e["expected"], e["error"], (e.get("message") or "")[:200])
             for e in report["entries"] if e["error"] != e["expected"]]
    assert wrong == []
    assert all(e["graphir_error"] for e in report["entries"])


def test_every_error_is_one_line_naming_the_file(report):
    for e in report["entries"]:
        first, *rest = e["message"].splitlines()
        # an invariant error adds a few lines of the IR after its one-line message
        assert rest == [] or e["expected"] == "GraphInvariantError", e["name"]
        assert e["path"] in first, (e["name"], first)
        assert len(first) < 600, (e["name"], len(first))  # hostile names are clipped


def test_no_warning_escapes_the_loaders(report):
    assert [(e["name"], e["warnings"]) for e in report["entries"] if e["warnings"]] == []


def test_the_cli_exits_2_with_one_line(report):
    ran = [e for e in report["entries"] if "cli" in e]
    assert len(ran) >= 50
    for e in ran:
        assert set(e["cli"]) == ({"inspect", "check", "convert", "verify"} if e["kind"] == "keras"
                                 else {"inspect", "check", "convert"})
        for verb, (code, stderr) in e["cli"].items():
            lines = stderr.strip().splitlines()
            assert code == 2, (e["name"], verb, stderr)
            assert len(lines) == 1 and lines[0].startswith("graphir: error: "), (e["name"], verb)
            assert e["path"] in lines[0] and "Traceback" not in stderr, (e["name"], verb)


def test_an_existing_output_is_left_untouched(report):
    assert report["existing_intact"] and report["out_folder"] == ["existing.onnx"]


def test_no_payload_ran_and_nothing_was_left_behind(report):
    assert report["canaries"] == []
    assert report["temp_left"] == []
    assert report["stale_swept"]  # the folder of a killed loader went with the next load


def test_peak_memory_stays_under_the_bound(report):
    assert report["maxrss_bytes"] < PEAK_RSS_BOUND, report["maxrss_bytes"] / 2 ** 20
