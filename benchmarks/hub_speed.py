"""keras_hub text backbones -> ONNX: graphir vs tf2onnx (time, memory, inference).

Run: ``make bench-hub`` (or ``.venv/bin/python benchmarks/hub_speed.py [--small]``).

Two backbones of the sizes people deploy, built from configs with seeded random weights
(nothing downloaded): a BERT-base-sized ``BertBackbone`` (12 layers, hidden 768, 12
heads, intermediate 3072, vocabulary 30522) and a GPT-2-small-sized ``GPT2Backbone``
(12 layers, hidden 768, 12 heads, intermediate 3072, vocabulary 50257), both at batch 1
and sequence length 128 (their layers read ``ops.shape(x)``, so graphir lowers them with
``input_shapes``; tf2onnx gets the same static ``input_signature``).  ``--small`` builds
2-layer, hidden-64 versions (a smoke run); ``--num-layers N`` full-width ones with N
layers (a size tf2onnx can convert where the 12-layer one runs out of memory).

Each conversion runs in its own child process (``benchlib.run_child``), killed when its
resident memory passes ``--rss-limit-gib`` (default 12; optionally also an address-space
limit, ``--memory-limit-gib``: tf2onnx fails under 8 and 16 GiB of address space on
BERT-base, TensorFlow reserving more than it touches): the child builds the backbone
from its config with the same seed (identical weights), warms its converter up on a
tiny backbone (imports and one-time set-up excluded), then converts to serialized ONNX
bytes (graphir: ``to_onnx_bytes(from_keras(model, input_shapes=...))``; tf2onnx:
``tf2onnx.convert.from_keras(model, input_signature=..., opset=17)``).  Recorded per
conversion: wall-clock seconds, peak resident memory of the child above its memory
before the conversion (``benchlib.PeakMemory``), and a check in onnxruntime against the
Keras outputs on seeded inputs computed by a separate reference child (``ok`` = within
rtol 1e-4, atol 1e-4 x the output's largest magnitude).  Running out of memory, a crash
or a timeout of a child is a result ("OOM (RSS > 12 GiB)", ...), never the end of the
benchmark.  The parent imports neither TensorFlow nor Keras: it only checks and times
the ONNX files.  Then both ONNX models are timed in onnxruntime (CUDA where present,
else CPU; the provider that ran is reported), interleaved run by run, median of
``--runs``.  ``--profile FILE`` adds one more graphir child under cProfile (not timed)
and prints its 25 most expensive functions (cumulative), the stats saved to FILE.

Targets (issue "Any Keras model"; measured here, never asserted in tests): conversion
at least 20x faster than tf2onnx, inference time ratio graphir / tf2onnx at most 1.05.
Wall-clock numbers vary with the machine and its load; the ratios measured in the same
process are the result.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import (PeakMemory, child_main, machine, median, print_report,  # noqa: E402
                      rss_mb, run_child)

TF2ONNX_OPSET = 17
BATCH, SEQ = 1, 128
TARGET_RATIO, TARGET_INFERENCE_RATIO = 20.0, 1.05
FAMILIES = ("bert-base", "gpt2-small")


def _config(family: str, size: str) -> dict[str, Any]:
    """The backbone config: ``size`` "small" (2 layers, hidden 64), "full" (12 layers,
    hidden 768) or a number of layers at full width."""
    if size == "small":
        dims = dict(num_layers=2, num_heads=2, hidden_dim=64, intermediate_dim=128)
    else:
        dims = dict(num_layers=12 if size == "full" else int(size), num_heads=12,
                    hidden_dim=768, intermediate_dim=3072)
    if family == "bert-base":
        return dict(vocabulary_size=30522, max_sequence_length=512, **dims)
    return dict(vocabulary_size=50257, max_sequence_length=1024, **dims)


def _build(family: str, size: str):
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    cls = keras_hub.models.BertBackbone if family == "bert-base" else \
        keras_hub.models.GPT2Backbone
    return cls(**_config(family, size))


def _feeds(model) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    feeds = {}
    for t in model.inputs:
        name = t._keras_history.operation.name
        if "mask" in name:
            a = np.ones((BATCH, SEQ), np.int32)
            a[:, -SEQ // 4:] = 0
        elif "segment" in name:
            a = rng.integers(0, 2, size=(BATCH, SEQ)).astype(np.int32)
        else:
            a = rng.integers(1, 1000, size=(BATCH, SEQ)).astype(np.int32)
        feeds[name] = a
    return feeds




def _input_names(model) -> list[str]:
    return [t._keras_history.operation.name for t in model.inputs]


def _graphir(model) -> bytes:
    from graphir.backends.keras import from_keras
    from graphir.backends.onnx import to_onnx_bytes

    shapes = {name: (BATCH, SEQ) for name in _input_names(model)}
    return to_onnx_bytes(from_keras(model, input_shapes=shapes))


def _tf2onnx(model) -> bytes:
    import tensorflow as tf
    import tf2onnx

    spec = {name: tf.TensorSpec((BATCH, SEQ), t.dtype, name=name)
            for name, t in zip(_input_names(model), model.inputs)}
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=[spec],
                                          opset=TF2ONNX_OPSET)
    return proto.SerializeToString()


CONVERTERS = {"graphir": _graphir, "tf2onnx": _tf2onnx}


# --------------------------------------------------------------------------- children

def _reference_work(family: str, size: str, out_file: str):
    """Child work: the seeded inputs and Keras' outputs of the backbone, saved as .npz
    (``in:NAME`` and ``out:I`` arrays)."""
    def work(result: dict[str, Any]) -> None:
        import keras

        start = time.perf_counter()
        model = _build(family, size)
        feeds = _feeds(model)
        flat = keras.Model(model.inputs, model.outputs)
        ref = flat.predict([feeds[n] for n in _input_names(model)], verbose=0)
        ref = ref if isinstance(ref, list) else [ref]
        np.savez(out_file, **{f"in:{k}": v for k, v in feeds.items()},
                 **{f"out:{i}": np.asarray(r) for i, r in enumerate(ref)})
        result["weights_mb"] = sum(int(np.prod(w.shape)) * 4 for w in model.weights) / 2 ** 20
        result["params"] = int(model.count_params())
        result["seconds"] = time.perf_counter() - start

    return work


def _convert_work(conv: str, family: str, size: str, out_file: str,
                  profile: str | None = None):
    """Child work: warm ``conv`` up on a tiny backbone, build the backbone, convert it
    (timed, peak memory measured; under cProfile when ``profile`` names a stats file)
    and write the ONNX bytes to ``out_file``."""
    def work(result: dict[str, Any]) -> None:
        CONVERTERS[conv](_build("bert-base", "small"))  # imports and one-time set-up
        model = _build(family, size)
        result["rss_before_mb"] = rss_mb()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
        with PeakMemory() as mem:
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            data = CONVERTERS[conv](model)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - start
        if profiler:
            profiler.dump_stats(profile)
        result["peak_mb"] = mem.peak_mb
        with open(out_file, "wb") as f:
            f.write(data)
        result["seconds"] = seconds

    return work


# --------------------------------------------------------------------------- parent

def _providers() -> list[str]:
    import onnxruntime as ort

    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in ort.get_available_providers()]


def _session(data: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # no warning per session when CUDA libraries are missing
    return ort.InferenceSession(data, options, providers=_providers())


def _run(session, feeds):
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in names})


def _check(data: bytes, feeds, ref: list[np.ndarray]) -> str:
    try:
        got = _run(_session(data), feeds)
    except Exception as e:  # noqa: BLE001 - a runtime refusal is a result
        return f"runs: {type(e).__name__}"
    # outputs matched by shape (tf2onnx may order a dict's outputs differently)
    for want in ref:
        match = [g for g in got if g.shape == want.shape]
        atol = 1e-4 * max(1.0, float(np.abs(want).max()))
        if not any(np.allclose(g, want, rtol=1e-4, atol=atol) for g in match):
            return "mismatch"
    return "ok"


def _time_inference(models: dict[str, bytes], feeds, runs: int, warmup: int
                    ) -> dict[str, Any]:
    sessions = {k: _session(v) for k, v in models.items()}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    order = list(sessions)
    for i in range(warmup + runs):
        for k in (order if i % 2 else order[::-1]):
            start = time.perf_counter()
            _run(sessions[k], feeds)
            if i >= warmup:
                times[k].append(time.perf_counter() - start)
    return {"median_s": {k: median(v) for k, v in times.items()},
            "provider": {k: s.get_providers()[0] for k, s in sessions.items()}}


def _spawn(args, role: str, family: str, tmp: str, suffix: str, *extra: str
           ) -> tuple[dict[str, Any], str]:
    out_json, out_file = os.path.join(tmp, f"{role}.json"), os.path.join(tmp, role + suffix)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", role, family,
           _size(args), str(args.memory_limit_gib), out_json, out_file, *extra]
    print(f"[{time.strftime('%H:%M:%S')}] {family}: {role} ...", file=sys.stderr, flush=True)
    result = run_child(cmd, out_json, limit_gib=args.memory_limit_gib,
                       timeout=args.child_timeout, rss_limit_gib=args.rss_limit_gib)
    print(f"    {result.get('status', 'done')} {result.get('seconds', float('nan')):.2f} s "
          f"{result.get('error', '')}", file=sys.stderr, flush=True)
    return result, out_file


def _size(args) -> str:
    return "small" if args.small else str(args.num_layers) if args.num_layers else "full"


def _size_note(args) -> str:
    size = _size(args)
    return "" if size == "full" else ", --small" if size == "small" else \
        f", {size} layers at full width"


def _print_profile(path: str, top: int = 25) -> None:
    import pstats

    print(f"\ncProfile of the graphir conversion ({path}), top {top} by cumulative time:")
    pstats.Stats(path).sort_stats("cumulative").print_stats(top)


def _family(args, family: str, rows, inference_rows, targets) -> None:
    with tempfile.TemporaryDirectory(prefix="graphir-hub-") as tmp:
        ref_result, ref_file = _spawn(args, "reference", family, tmp, ".npz")
        if "seconds" not in ref_result:
            rows.append([family, "reference (Keras)", "—", "—", "—", "—", ref_result["status"]])
            return
        with np.load(ref_file) as z:
            feeds = {k[3:]: z[k] for k in z.files if k.startswith("in:")}
            ref = [z[f"out:{i}"] for i in range(sum(k.startswith("out:") for k in z.files))]
        weights_mb = ref_result["weights_mb"]
        results, data = {}, {}
        for conv in CONVERTERS:
            r, out_file = _spawn(args, conv, family, tmp, ".onnx")
            if "seconds" in r:
                with open(out_file, "rb") as f:
                    data[conv] = f.read()
                os.remove(out_file)
                r["status"] = _check(data[conv], feeds, ref)
            results[conv] = r
            peak = r.get("peak_mb")
            rows.append([family, conv, f"{r['seconds']:.2f}" if "seconds" in r else "—",
                         f"{peak:.0f} ({peak / weights_mb:.1f}x)" if peak is not None else "—",
                         f"{r.get('max_rss_gib', 0.0):.1f}", f"{weights_mb:.0f}", r["status"]])
        if args.profile:
            _spawn(args, "graphir", family, tmp, ".onnx", f"{args.profile}.{family}")
            _print_profile(f"{args.profile}.{family}")
        g, t = results["graphir"], results["tf2onnx"]
        if "seconds" in g and "seconds" in t:
            ratio = t["seconds"] / g["seconds"]
            targets.append(f"{family}: conversion {ratio:.1f}x faster than tf2onnx "
                           f"(target >= {TARGET_RATIO:.0f}x): "
                           f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
        else:
            targets.append(f"{family}: conversion ratio not measured (graphir: {g['status']}, "
                           f"tf2onnx: {t['status']})")
        if g.get("status") == "ok" and t.get("status") == "ok":
            timing = _time_inference(data, feeds, args.runs, args.warmup)
            med = timing["median_s"]
            ratio = med["graphir"] / med["tf2onnx"]
            inference_rows.append([family, f"{med['graphir'] * 1e3:.1f}",
                                   f"{med['tf2onnx'] * 1e3:.1f}", f"{ratio:.3f}",
                                   timing["provider"]["graphir"]])
            targets.append(f"{family}: inference ratio {ratio:.3f} (target <= "
                           f"{TARGET_INFERENCE_RATIO}): "
                           f"{'met' if ratio <= TARGET_INFERENCE_RATIO else 'NOT met'}")


def main(argv=None) -> None:
    """Run the benchmark (or, with the hidden ``--child``, one of its child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2-layer, hidden-64 backbones")
    parser.add_argument("--num-layers", type=int, default=None,
                        help="full-width backbones with this many layers instead of 12")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--memory-limit-gib", type=float, default=0.0,
                        help="address-space limit (RLIMIT_AS) of each child process; 0: none")
    parser.add_argument("--rss-limit-gib", type=float, default=12.0,
                        help="kill a child whose resident memory exceeds this")
    parser.add_argument("--child-timeout", type=int, default=1800)
    parser.add_argument("--profile", metavar="FILE",
                        help="also profile one graphir conversion per family (cProfile)")
    parser.add_argument("--markdown", default=None, help="also write the tables here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        role, family, size, limit, out_json, out_file, *profile = args.child
        work = (_reference_work(family, size, out_file) if role == "reference" else
                _convert_work(role, family, size, out_file,
                              profile[0] if profile else None))
        child_main(out_json, float(limit), work)
        return
    rows: list[list[str]] = []
    inference_rows: list[list[str]] = []
    targets: list[str] = []
    for family in args.families:
        _family(args, family, rows, inference_rows, targets)
    info = machine(["numpy", "onnx", "onnxruntime"])
    print_report(info, [
        (f"Conversion (batch {BATCH}, sequence {SEQ}{_size_note(args)}; "
         f"each in a child process killed past {args.rss_limit_gib:g} GiB resident"
         + (f", address space limited to {args.memory_limit_gib:g} GiB"
            if args.memory_limit_gib else "") +
         "; peak: MiB above the child's RSS before the conversion; child RSS: the largest "
         "resident size of the whole child, sampled every 0.1 s)",
         ["model", "converter", "seconds", "peak MiB (x weights)", "child RSS GiB",
          "weights MiB", "check"], rows),
        ("onnxruntime inference (median ms)",
         ["model", "graphir", "tf2onnx", "ratio", "provider"], inference_rows),
    ], targets, markdown=args.markdown)


if __name__ == "__main__":
    main()
