"""keras_hub task models and backbones probed DIRECTLY on dict inputs, with padding
masks the generic probe cannot make: padding at the start, in the middle, fully masked
rows, batch 1, int64 ids, a sequence length other than the one fed at conversion.

Per case: Keras' own call (the reference) vs graphir ``from_keras -> to_onnx`` run by
onnxruntime (feeds by input name) vs ``to_keras`` saved, reloaded with
``safe_mode=True`` and called on the same dict (or, failing that, the list in the
emitted model's input order); all at ``max |got - ref| <= 1e-4 * max(1, max |ref|)``.
Statuses as in ``keras_examples_probe.py`` (ok / refused / WRONG / crash).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/hub_and_masks_direct.py [NAME ...]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_examples_probe import _mismatch  # noqa: E402 - the probe's comparison
TXT = dict(vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)


def _mask(kind, batch, seq):
    m = np.ones((batch, seq), "int32")
    if kind == "start":
        m[:, :3] = 0
    elif kind == "middle":
        m[:, seq // 2 - 1: seq // 2 + 2] = 0
    elif kind == "end":
        m[:, -3:] = 0
    elif kind == "fully_masked_row":
        m[0, :] = 0
        m[-1, -2:] = 0
    elif kind == "ragged":
        for b in range(batch):
            m[b, : b + 1] = 0
            m[b, seq - b:] = 0
    return m


def _text_feeds(names, batch, seq, mask, dtype="int32", rng=None):
    rng = rng or np.random.default_rng(0)
    f = {}
    for n in names:
        if n.endswith("padding_mask"):
            f[n] = _mask(mask, batch, seq).astype(dtype)
        elif n == "segment_ids":
            f[n] = (np.arange(seq)[None, :] >= seq // 2).astype(dtype).repeat(batch, 0)
        elif n == "mask_positions":
            f[n] = np.tile(np.array([[1, 3, seq - 1]]), (batch, 1)).astype(dtype)
        else:
            f[n] = rng.integers(1, 30, size=(batch, seq)).astype(dtype)
    return f


def _hub():
    import keras_hub

    return keras_hub


def _builders():
    kh = _hub().models
    return {
        "bert_text_classifier": lambda: kh.BertTextClassifier(
            kh.BertBackbone(**TXT, max_sequence_length=32), 3, preprocessor=None),
        "distilbert_text_classifier": lambda: kh.DistilBertTextClassifier(
            kh.DistilBertBackbone(**TXT, max_sequence_length=32), 2, preprocessor=None),
        "roberta_text_classifier": lambda: kh.RobertaTextClassifier(
            kh.RobertaBackbone(**TXT, max_sequence_length=32), 2, preprocessor=None),
        "deberta_v3_text_classifier": lambda: kh.DebertaV3TextClassifier(
            kh.DebertaV3Backbone(**TXT, max_sequence_length=32, bucket_size=4), 2,
            preprocessor=None),
        "albert_text_classifier": lambda: kh.AlbertTextClassifier(
            kh.AlbertBackbone(30, 1, 2, 6, 8, 16, max_sequence_length=32), 2,
            preprocessor=None),
        "bert_masked_lm": lambda: kh.BertMaskedLM(
            kh.BertBackbone(**TXT, max_sequence_length=32), preprocessor=None),
        "gpt2_causal_lm": lambda: kh.GPT2CausalLM(
            kh.GPT2Backbone(**TXT, max_sequence_length=32), preprocessor=None),
        "opt_causal_lm": lambda: kh.OPTCausalLM(
            kh.OPTBackbone(**TXT, max_sequence_length=32), preprocessor=None),
        "llama_causal_lm": lambda: kh.LlamaCausalLM(
            kh.LlamaBackbone(30, 1, 2, 8, 16, 1), preprocessor=None),
        "gemma_causal_lm": lambda: kh.GemmaCausalLM(
            kh.GemmaBackbone(30, 1, 2, 1, 8, 16, 4), preprocessor=None),
        "mistral_causal_lm": lambda: kh.MistralCausalLM(
            kh.MistralBackbone(30, 1, 2, 8, 16, 1, sliding_window=4), preprocessor=None),
        "bloom_causal_lm": lambda: kh.BloomCausalLM(kh.BloomBackbone(**TXT),
                                                    preprocessor=None),
        "falcon_causal_lm": lambda: kh.FalconCausalLM(
            kh.FalconBackbone(30, 1, 2, 8, 16), preprocessor=None),
        "qwen3_causal_lm": lambda: kh.Qwen3CausalLM(
            kh.Qwen3Backbone(30, 1, 2, 1, 4, 8, 16), preprocessor=None),
        "bart_seq2seq_lm": lambda: kh.BartSeq2SeqLM(
            kh.BartBackbone(**TXT, max_sequence_length=32), preprocessor=None),
        "t5_seq2seq_lm": lambda: kh.T5Seq2SeqLM(
            kh.T5Backbone(30, 1, 2, 8, 16, key_value_dim=4), preprocessor=None),
        "bert_backbone": lambda: kh.BertBackbone(**TXT, max_sequence_length=32),
        "gpt2_backbone": lambda: kh.GPT2Backbone(**TXT, max_sequence_length=32),
        "llama_backbone": lambda: kh.LlamaBackbone(30, 1, 2, 8, 16, 1),
    }


#: (builder, mask kind, batch, seq, id dtype)
CASES = {}
for _name in ["bert_text_classifier", "distilbert_text_classifier", "roberta_text_classifier",
              "deberta_v3_text_classifier", "albert_text_classifier", "bert_masked_lm",
              "gpt2_causal_lm", "opt_causal_lm", "llama_causal_lm", "gemma_causal_lm",
              "mistral_causal_lm", "bloom_causal_lm", "falcon_causal_lm", "qwen3_causal_lm",
              "bart_seq2seq_lm", "t5_seq2seq_lm"]:
    CASES[f"{_name}/start"] = (_name, "start", 2, 10, "int32")
    CASES[f"{_name}/fully_masked_row"] = (_name, "fully_masked_row", 2, 10, "int32")
for _name in ["bert_backbone", "gpt2_backbone", "llama_backbone"]:
    CASES[f"{_name}/middle"] = (_name, "middle", 2, 10, "int32")
    CASES[f"{_name}/ragged_b3"] = (_name, "ragged", 3, 9, "int32")
    CASES[f"{_name}/batch1"] = (_name, "end", 1, 7, "int32")
    # int64 ids (numpy's default) into an int32-declared input: Keras casts silently
    CASES[f"{_name}/batch1_int64"] = (_name, "end", 1, 7, "int64")
    CASES[f"{_name}/fully_masked_row"] = (_name, "fully_masked_row", 2, 8, "int32")
    CASES[f"{_name}/seq_change_12_then_5"] = (_name, "middle", 2, (12, 5), "int32")
CASES["gpt2_causal_lm/batch1_int64"] = ("gpt2_causal_lm", "end", 1, 6, "int64")
CASES["gpt2_causal_lm/batch1"] = ("gpt2_causal_lm", "end", 1, 6, "int32")
CASES["bart_seq2seq_lm/ragged_b3"] = ("bart_seq2seq_lm", "ragged", 3, 9, "int32")


def _out_list(out):
    if isinstance(out, dict):
        return [np.asarray(out[k]) for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def run_case(name):
    import graphir
    import onnxruntime as ort

    builder, kind, batch, seq, dtype = CASES[name]
    keras.utils.set_random_seed(0)
    model = _builders()[builder]()
    names = [t.name for t in model.inputs]
    seqs = seq if isinstance(seq, tuple) else (seq,)
    try:
        feeds_all = [_text_feeds(names, batch, s, kind, dtype) for s in seqs]
        wants = [_out_list(model(f, training=False)) for f in feeds_all]
    except Exception as e:  # noqa: BLE001
        return "keras-failed", f"{type(e).__name__}: {str(e)[:200]}"
    try:
        graph = graphir.from_keras(model)
        sess = ort.InferenceSession(graphir.to_onnx(graph).SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        checks = []
        for f, w in zip(feeds_all, wants):
            onames = [i.name for i in sess.get_inputs()]
            feed = {n: f[n] for n in onames} if set(onames) <= set(f) else {
                i.name: f[n] for i, n in zip(sess.get_inputs(), names)}
            checks.append((f"onnx seq {f[names[0]].shape[1]}", sess.run(None, feed), w))
        emitted = graphir.to_keras(graph)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.keras")
            emitted.save(path)
            back = keras.saving.load_model(path, safe_mode=True)
            for f, w in zip(feeds_all, wants):
                try:
                    got = _out_list(back(f, training=False))
                except Exception:  # noqa: BLE001 - a list in the emitted input order
                    got = _out_list(back([f[t.name.split(":")[0]] if t.name in f else
                                          f[n] for t, n in zip(back.inputs, names)],
                                         training=False))
                checks.append((f"keras seq {f[names[0]].shape[1]}", got, w))
    except graphir.GraphIRError as e:
        return "refused", f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    except Exception as e:  # noqa: BLE001
        return "crash", f"{type(e).__name__}: {traceback.format_exc()[-500:]}"
    for what, got, want in checks:
        p = _mismatch(got, want)
        if p:
            return "WRONG", f"{what}: {p}"
    return "ok", ""


def main(argv):
    names = argv or list(CASES)
    counts = {}
    bad = False
    for n in names:
        status, detail = run_case(n)
        counts[status] = counts.get(status, 0) + 1
        bad |= status in ("WRONG", "crash")
        print(f"{n:44s} {status:12s} {detail}", flush=True)
    print("totals:", counts)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
