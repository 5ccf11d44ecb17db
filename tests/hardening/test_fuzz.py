"""Property-based fuzzing of the ``.keras``, ``.gir`` and ``.onnx`` readers
(``fuzz_loaders.py``, hypothesis, derandomized): only ``GraphIRError`` escapes.

Run in a child process, so that a crash of a native parser (HDF5, protobuf) is
reported as a failure rather than ending the test session.  600 mutants take
about 20 s; :data:`EXAMPLES` bounds it (the issue allows two minutes in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLES = 100  # per fuzzer; six fuzzers


def _fuzz(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(HERE / "fuzz_loaders.py"), str(folder), *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.mark.tf
def test_only_graphir_errors_escape_the_readers(tmp_path):
    proc = _fuzz(tmp_path, str(EXAMPLES))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    done = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert done == ["fuzz_keras_bytes", "fuzz_keras_config", "fuzz_keras_weights",
                    "fuzz_gir_bytes", "fuzz_gir_json", "fuzz_onnx"]


def test_the_fuzzer_finds_an_escaping_error_in_a_broken_twin(tmp_path):
    proc = _fuzz(tmp_path, str(EXAMPLES), "twin")
    assert proc.returncode != 0
    assert "TypeError: node name is not a string" in proc.stderr
    assert "fuzz_gir_json(" in proc.stderr and "'name'" in proc.stderr  # the shrunk case
