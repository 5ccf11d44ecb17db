"""How many real model definitions graphir converts: the keras.io-style models of
``keras_examples.py`` through graphir and through tf2onnx (the anchor), each result
checked outside graphir.

Run: ``.venv/bin/python benchmarks/keras_examples_probe.py [NAME ...] [--no-tf2onnx]
[--markdown FILE] [--module MODULE] [--fresh-process]`` (``make bench-examples``;
``--module`` names another module of ``benchmarks/`` with a ``MODELS`` dict of builders,
as ``keras_examples.py``).

Per model (seeded weights, seeded inputs: batch 2, every unknown dim 32, integer inputs
in [0, 10), bool inputs random), the reference is Keras' own call at inference:

* graphir: ``from_keras`` (for a subclassed model whose inputs graphir typed otherwise
  than ``probe_specs`` says, again with those ``input_dtypes``, as tf2onnx is given the
  input signature) -> ``to_onnx`` run by onnxruntime (and, when the graph's batch
  is dynamic, again at batch 3 against Keras at batch 3, unless Keras itself fails
  there), and ``to_keras`` saved,
  reloaded with ``safe_mode=True`` and run; all compared with the reference at
  ``max |got - ref| <= 1e-4 * max(1, max |ref|)``.  Status ``ok`` (both match),
  ``refused`` (a typed ``GraphIRError``: the reason is printed), ``WRONG`` (a number
  differs: never acceptable), ``crash`` (any other exception: a bug);
* tf2onnx: ``tf2onnx.convert.from_keras`` (opset 17, the model's input signature with
  a dynamic batch) run by onnxruntime, compared the same way: ``ok``, ``failed`` (an
  exception) or ``WRONG``.

With ``--fresh-process`` every emitted ``.keras`` is also reloaded in one new Python
process that may not import keras_hub, graphir or the benchmark modules (an import hook
refuses them; Keras' deserializer would import keras_hub for a config naming it), run
on the same inputs and compared again: a failure there turns ``ok`` into ``crash`` or
``WRONG`` (the issue's held-out check, "reloaded in a fresh process without the custom
code").

Printed: one row per model and the two conversion rates.  Nothing is asserted; the
script exits 1 when graphir produced a wrong number or crashed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchlib import machine, print_report  # noqa: E402

NONE_DIM = 32
BATCH = 2
TOL = 1e-4


def _inputs(model, rng: np.random.Generator) -> list[np.ndarray]:
    """Seeded inputs for ``model`` (by its inputs, or ``probe_specs`` for a subclass)."""
    specs = getattr(model, "probe_specs", None) or [(t.shape[1:], t.dtype)
                                                    for t in model.inputs]
    feeds = []
    for shape, dtype in specs:
        full = [BATCH] + [NONE_DIM if d is None else d for d in shape]
        dtype = str(dtype)
        if "int" in dtype:
            feeds.append(rng.integers(0, 10, size=full).astype(dtype))
        elif dtype == "bool":
            feeds.append(rng.random(full) > 0.3)
        else:
            feeds.append(rng.normal(size=full).astype("float32"))
    return feeds


def _call(model, feeds) -> list[np.ndarray]:
    import keras

    out = model(feeds[0] if len(feeds) == 1 else feeds, training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def _mismatch(got, want) -> str | None:
    """None when every output matches, else what differs."""
    if len(got) != len(want):
        return f"{len(got)} outputs, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        if g.shape != w.shape:
            return f"output {k}: shape {g.shape} vs {w.shape}"
        err = float(np.max(np.abs(g - w))) if w.size else 0.0
        if not err <= TOL * max(1.0, float(np.max(np.abs(w))) if w.size else 1.0):
            return f"output {k}: max abs error {err:.2e}"
    return None


def _ort(model_bytes: bytes, feeds) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: f for i, f in zip(session.get_inputs(), feeds)})


def run_graphir(model, feeds, want, keep: str | None = None) -> tuple[str, str]:
    """graphir's status and detail for one model; with ``keep`` (a path prefix) the
    emitted ``.keras`` and the feeds and reference (``.npz``) are kept there for
    :func:`reload_fresh`."""
    import keras

    import graphir

    try:
        graph = graphir.from_keras(model)
        specs = getattr(model, "probe_specs", None)
        if specs and not getattr(model, "inputs", None) and len(specs) == len(graph.inputs):
            # a subclassed model: its input dtypes (and, where the definition leaves a
            # size unknown, its shapes), as tf2onnx gets its input_signature
            dtypes = {v.name: str(dtype) for v, (_, dtype) in zip(graph.inputs, specs)
                      if str(dtype) != v.type.dtype.value}
            shapes = ({v.name: (None, *shape) for v, (shape, _) in zip(graph.inputs, specs)}
                      if any(None in tuple(shape) for shape, _ in specs) else None)
            if shapes:  # the whole signature, shapes and dtypes
                dtypes = {v.name: str(dtype) for v, (_, dtype) in zip(graph.inputs, specs)}
            if dtypes or shapes:
                graph = graphir.from_keras(model, input_dtypes=dtypes or None,
                                           input_shapes=shapes)
        onnx = graphir.to_onnx(graph).SerializeToString()
        onnx_out = _ort(onnx, feeds)
        checks = [("onnx", onnx_out, want)]
        if all(not isinstance(v.type.shape[0], int) for v in graph.inputs):
            # a dynamic batch: the same ONNX at batch 3 (nothing was fixed while tracing)
            three = [np.concatenate([f, f[:1]]) for f in feeds]
            try:
                ref3 = _call(model, three)
            except Exception:  # noqa: BLE001 - the definition itself fails at batch 3
                ref3 = None  # (keras_hub SAM3 broadcasts a (batch, s) mask as (t, s))
            if ref3 is not None:
                checks.append(("onnx at batch 3", _ort(onnx, three), ref3))
        emitted = graphir.to_keras(graph)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.keras")
            emitted.save(path)
            keras_out = _call(keras.saving.load_model(path, safe_mode=True), feeds)
            if keep:
                os.replace(path, keep + ".keras")
                np.savez(keep + ".npz", **{f"feed{i}": f for i, f in enumerate(feeds)},
                         **{f"want{i}": w for i, w in enumerate(want)})
    except graphir.GraphIRError as e:
        return "refused", f"{type(e).__name__}: {str(e).splitlines()[0][:240]}"
    except Exception as e:  # noqa: BLE001 - a crash is a result here
        return "crash", f"{type(e).__name__}: {traceback.format_exc()[-400:]}"
    for what, got, ref in checks + [("keras", keras_out, want)]:
        problem = _mismatch(got, ref)
        if problem:
            return "WRONG", f"{what}: {problem}"
    return "ok", ""


def reload_fresh(folder: str) -> dict[str, tuple[str, str]]:
    """The kept emitted models of ``folder`` reloaded in a new Python process that
    imports Keras only (never keras_hub, the benchmark modules or graphir: the
    held-out check's "a fresh process without the custom code"), each loaded with
    ``safe_mode=True``, run on its kept feeds and compared with the kept reference.
    Returns model name -> (status, detail): ``ok``, ``WRONG`` or ``crash``."""
    import json
    import subprocess

    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--reload-only", folder],
                           capture_output=True, text=True, timeout=3600,
                           env={**os.environ, "PYTHONPATH": ""})
    results = {}
    for line in child.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["name"]] = (row["status"], row["detail"])
    if child.returncode != 0 and not results:
        raise RuntimeError(f"the fresh process failed: {child.stderr[-2000:]}")
    return results


#: packages the fresh process refuses to import: Keras' own deserializer imports the
#: module a config names when its package is keras_hub (or keras_nlp / keras_cv), so
#: only blocking them shows that an emitted model needs Keras alone
_BLOCKED = ("keras_hub", "keras_nlp", "keras_cv", "graphir")


class _BlockImports:
    """A ``sys.meta_path`` finder that fails the import of :data:`_BLOCKED` packages and
    of the benchmark modules (the user's model code)."""

    def __init__(self) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        self.local = {f[:-3] for f in os.listdir(here) if f.endswith(".py")}

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in _BLOCKED or top in self.local:
            raise ImportError(f"{fullname} may not be imported by the fresh process")
        return None


def _reload_only(folder: str) -> int:
    """The child of :func:`reload_fresh`: one JSON line per kept model."""
    import json

    for mod in _BLOCKED:
        assert mod not in sys.modules, f"{mod} is imported in the fresh process"
    sys.meta_path.insert(0, _BlockImports())
    import keras
    for name in sorted(f[:-6] for f in os.listdir(folder) if f.endswith(".keras")):
        data = np.load(os.path.join(folder, name + ".npz"))
        feeds = [data[f"feed{i}"] for i in range(sum(k.startswith("feed") for k in data))]
        want = [data[f"want{i}"] for i in range(sum(k.startswith("want") for k in data))]
        try:
            model = keras.saving.load_model(os.path.join(folder, name + ".keras"),
                                            safe_mode=True)
            problem = _mismatch(_call(model, feeds), want)
            status, detail = ("WRONG", f"fresh process: {problem}") if problem else ("ok", "")
        except Exception as e:  # noqa: BLE001 - a failure to load is a result here
            status, detail = "crash", f"fresh process: {type(e).__name__}: {str(e)[:300]}"
        print(json.dumps({"name": name, "status": status, "detail": detail}), flush=True)
    return 0


def run_tf2onnx(model, feeds, want) -> tuple[str, str]:
    """tf2onnx's status and detail for one model."""
    import tensorflow as tf
    import tf2onnx

    try:
        specs = getattr(model, "probe_specs", None) or [(t.shape[1:], t.dtype)
                                                        for t in model.inputs]
        signature = [tf.TensorSpec((None, *shape), dtype, name=f"in{i}")
                     for i, (shape, dtype) in enumerate(specs)]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
        got = _ort(proto.SerializeToString(), feeds)
    except Exception as e:  # noqa: BLE001 - a failure is a result here
        return "failed", f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
    problem = _mismatch(got, want)
    return ("WRONG", problem) if problem else ("ok", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models to run (default: all)")
    parser.add_argument("--no-tf2onnx", action="store_true", help="skip the anchor")
    parser.add_argument("--markdown", help="also write the tables to this Markdown file")
    parser.add_argument("--fresh-process", action="store_true",
                        help="also reload every emitted .keras in a new process that "
                             "imports Keras only (no keras_hub, no model module) and "
                             "compare it again")
    parser.add_argument("--reload-only", help=argparse.SUPPRESS)
    parser.add_argument("--module", default="keras_examples",
                        help="the module of benchmarks/ whose MODELS dict is probed "
                             "(default: keras_examples)")
    args = parser.parse_args(argv)
    if args.reload_only:
        return _reload_only(args.reload_only)

    import importlib

    import keras

    MODELS = importlib.import_module(args.module).MODELS

    names = args.names or list(MODELS)
    kept = tempfile.mkdtemp(prefix="graphir_probe_") if args.fresh_process else None
    rows: list[list[Any]] = []
    counts = {"graphir": 0, "tf2onnx": 0}
    bad = False
    for name in names:
        keras.utils.set_random_seed(0)
        start = time.perf_counter()
        try:
            model = MODELS[name]()
            feeds = _inputs(model, np.random.default_rng(0))
            want = _call(model, feeds)
        except Exception as e:  # noqa: BLE001 - Keras refused the definition itself
            rows.append([name, "keras-failed", "", f"{type(e).__name__}: {str(e)[:120]}"])
            continue
        g_status, g_detail = run_graphir(model, feeds, want,
                                         keep=os.path.join(kept, name) if kept else None)
        t_status, t_detail = (("skipped", "") if args.no_tf2onnx
                              else run_tf2onnx(model, feeds, want))
        counts["graphir"] += g_status == "ok"
        counts["tf2onnx"] += t_status == "ok"
        bad |= g_status in ("WRONG", "crash")
        rows.append([name, g_status, t_status, g_detail or t_detail,
                     f"{time.perf_counter() - start:.1f}"])
        print(f"{name:34s} graphir={g_status:8s} tf2onnx={t_status:8s} {g_detail}", flush=True)
    if kept:
        fresh = reload_fresh(kept)
        for row in rows:
            status, detail = fresh.get(row[0], ("ok", "")) if row[1] == "ok" else ("", "")
            if row[1] == "ok" and status != "ok":
                row[1], row[3] = status, detail
                counts["graphir"] -= 1
                bad = True
                print(f"{row[0]:34s} graphir={status:8s} {detail}", flush=True)
        print(f"fresh process: {sum(r[1] == 'ok' for r in rows)} of the converted models "
              f"reloaded and matched", flush=True)
        import shutil

        shutil.rmtree(kept, ignore_errors=True)
    n = sum(r[1] != "keras-failed" for r in rows)
    targets = [f"graphir converted and matched {counts['graphir']}/{n} "
               f"({100 * counts['graphir'] / max(n, 1):.0f}%)"]
    if not args.no_tf2onnx:
        targets.append(f"tf2onnx converted and matched {counts['tf2onnx']}/{n} "
                       f"({100 * counts['tf2onnx'] / max(n, 1):.0f}%)")
    info = machine(["numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"])
    print_report(info, [("keras.io-style models", ["model", "graphir", "tf2onnx",
                                                   "detail", "s"], rows)],
                 targets, markdown=args.markdown)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
