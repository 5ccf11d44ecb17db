"""keras_hub backbones of 31 families (text: BERT, DistilBERT, RoBERTa, ALBERT, ELECTRA,
GPT-2, OPT, Llama, BART, DeBERTaV3, T5, Mistral, Mixtral, Gemma, Falcon, GPT-NeoX, Bloom,
FNet; audio: Whisper; vision: ViT, DenseNet, EfficientNet, DeiT, DINOv2, CLIP vision,
Xception, VGG, ViTDet, SegFormer, and, marked slow, ResNet and MiT), built from small configs with seeded weights (nothing
downloaded), lowered with a static sequence length and a dynamic batch (their layers
read ``ops.shape(x)``: graphir/backends/keras/dynamic_dims.py), emitted to ONNX and to
Keras, and compared outside graphir with the keras_hub model on seeded inputs
(onnxruntime for the ONNX, at two batch sizes; the emitted Keras model run in this
process, and for BERT saved and reloaded with ``safe_mode=True`` in a fresh process
that never imports keras_hub)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")
keras_hub = pytest.importorskip("keras_hub")

from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import InputShapeError  # noqa: E402

M = keras_hub.models
TEXT = dict(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
BATCH, SEQ = 2, 8

#: family -> a builder of a small backbone
FAMILIES = {
    "bert": lambda: M.BertBackbone(**TEXT, max_sequence_length=16),
    "distilbert": lambda: M.DistilBertBackbone(**TEXT, max_sequence_length=16),
    "roberta": lambda: M.RobertaBackbone(**TEXT, max_sequence_length=16),
    "albert": lambda: M.AlbertBackbone(
        vocabulary_size=50, num_layers=1, num_heads=2, embedding_dim=8, hidden_dim=8,
        intermediate_dim=16, num_groups=1, num_inner_repetitions=1, max_sequence_length=16),
    "electra": lambda: M.ElectraBackbone(
        vocab_size=50, num_layers=1, num_heads=2, hidden_dim=8, embedding_dim=8,
        intermediate_dim=16, max_sequence_length=16),
    "gpt2": lambda: M.GPT2Backbone(**TEXT, max_sequence_length=16),
    "opt": lambda: M.OPTBackbone(**TEXT, max_sequence_length=16),
    "llama": lambda: M.LlamaBackbone(
        vocabulary_size=50, num_layers=1, num_query_heads=2, num_key_value_heads=1,
        hidden_dim=8, intermediate_dim=16),
    "bart": lambda: M.BartBackbone(**TEXT, max_sequence_length=16),
    # relative position buckets gathered with tf.gather(batch_dims=3); a constant
    # relative embedding table projected by dense layers (folded)
    "deberta_v3": lambda: M.DebertaV3Backbone(**TEXT, max_sequence_length=16, bucket_size=4),
    # attention returning (output, position_bias, None); T5LayerNorm's variable * tensor
    "t5": lambda: M.T5Backbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
                               intermediate_dim=16, key_value_dim=4),
    "vit": lambda: M.ViTBackbone(image_shape=(16, 16, 3), patch_size=4, num_layers=1,
                                 num_heads=2, hidden_dim=8, mlp_dim=16),
    "densenet": lambda: M.DenseNetBackbone(stackwise_num_repeats=[1, 1],
                                           image_shape=(16, 16, 3)),
    "efficientnet": lambda: M.EfficientNetBackbone(
        stackwise_kernel_sizes=[3], stackwise_num_repeats=[1], stackwise_input_filters=[8],
        stackwise_output_filters=[8], stackwise_expansion_ratios=[1],
        stackwise_squeeze_and_excite_ratios=[0.25], stackwise_strides=[1],
        stackwise_block_types=["v1"], width_coefficient=1.0, depth_coefficient=1.0,
        image_shape=(16, 16, 3)),
    # decoders: sliding-window attention; Gemma's zeros_like; rotary on part of the
    # head; ALiBi
    "mistral": lambda: M.MistralBackbone(
        vocabulary_size=50, num_layers=1, num_query_heads=2, num_key_value_heads=1,
        hidden_dim=8, intermediate_dim=16, sliding_window=4),
    "gemma": lambda: M.GemmaBackbone(
        vocabulary_size=50, num_layers=1, num_query_heads=2, num_key_value_heads=1,
        hidden_dim=8, intermediate_dim=16, head_dim=4),
    # keras.ops.dot_product_attention inside a traced MultiHeadAttention subclass
    "whisper": lambda: M.WhisperBackbone(**TEXT, num_mels=4, max_encoder_sequence_length=16,
                                         max_decoder_sequence_length=16),
    # ALiBi positions from ops.cumsum of the padding mask
    "falcon": lambda: M.FalconBackbone(vocabulary_size=50, num_layers=1, num_attention_heads=2,
                                       hidden_dim=8, intermediate_dim=16),
    "gpt_neox": lambda: M.GPTNeoXBackbone(  # head size 8: a rotary part of 2
        vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=16,
        max_sequence_length=16),
    "bloom": lambda: M.BloomBackbone(**TEXT),
    # vision: distillation token; layer scale and register-free DINOv2; CLIP's
    # quick_gelu activation (traced); separable convolutions
    "deit": lambda: M.DeiTBackbone(image_shape=(16, 16, 3), patch_size=4, num_layers=1,
                                   num_heads=2, hidden_dim=8, intermediate_dim=16),
    "dinov2": lambda: M.DINOV2Backbone(
        patch_size=4, num_layers=1, hidden_dim=8, num_heads=2, intermediate_dim=16,
        image_shape=(16, 16, 3), position_embedding_shape=(16, 16)),
    "clip_vision": lambda: M.CLIPVisionEncoder(
        patch_size=4, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16,
        image_shape=(16, 16, 3)),
    "xception": lambda: M.XceptionBackbone(
        stackwise_conv_filters=[[8, 8], [16, 16]], stackwise_pooling=[False, True],
        image_shape=(32, 32, 3)),
    "vgg": lambda: M.VGGBackbone(stackwise_num_repeats=[1, 1], stackwise_num_filters=[4, 8],
                                 image_shape=(16, 16, 3)),
    # the batch axis merged with others by a reshape (array_reshape): Mixtral's expert
    # routing, ViTDet's windows; FNet's token mixing (keras.ops.fft2); SegFormer's
    # Resizing of its decoder features
    "mixtral": lambda: M.MixtralBackbone(
        vocabulary_size=50, num_layers=1, num_query_heads=2, num_key_value_heads=1,
        hidden_dim=8, intermediate_dim=16, num_experts=2, top_k=1),
    "fnet": lambda: M.FNetBackbone(vocabulary_size=50, num_layers=1, hidden_dim=8,
                                   intermediate_dim=16, max_sequence_length=16),
    "vitdet": lambda: M.ViTDetBackbone(
        hidden_size=8, num_layers=2, intermediate_dim=16, num_heads=2,
        global_attention_layer_indices=[1], image_shape=(32, 32, 3), patch_size=8,
        num_output_channels=8, window_size=2),
    "segformer": lambda: M.SegFormerBackbone(image_encoder=M.MiTBackbone(
        layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2],
        layerwise_sr_ratios=[2, 1], max_drop_path_rate=0.0, layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2], hidden_dims=[8, 16], image_shape=(32, 32, 3)),
        projection_filters=8),
    # two more vision families, marked slow (the default run keeps 12 families)
    "resnet": lambda: M.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 64],
        stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block",
        use_pre_activation=False, image_shape=(32, 32, 3)),
    "mit": lambda: M.MiTBackbone(
        layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2],
        layerwise_sr_ratios=[2, 1], max_drop_path_rate=0.0, layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2], hidden_dims=[8, 16], image_shape=(32, 32, 3)),
}
SLOW = {"resnet", "mit"}
#: families lowered with a static batch size (none: ViTDet's window partition, which
#: reshapes to (ops.shape(windows)[0] // 4, ..., -1), resolves with the windows' size
#: named 4*batch; it used to need one)
STATIC_BATCH: set[str] = set()
#: the first transformer block's scope, where it is not ``transformer_layer_0`` (None: the
#: blocks' weights are shared or not scoped by block)
VISION = {"densenet", "efficientnet", "vit", "resnet", "mit", "deit", "dinov2", "clip_vision",
          "xception", "vgg", "vitdet", "segformer"}
BLOCKS = {"albert": None, "bart": None, "mixtral": None, "fnet": None, "gemma": "decoder_block_0",
          "whisper": "transformer_encoder_layer_0",
          "deberta_v3": "disentangled_attention_encoder_layer_0",
          "t5": "transformer_encoder_layer_0"}


def _build(family: str):
    keras.utils.set_random_seed(11)
    return FAMILIES[family]()


def _inputs(model) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
    """Static shapes (batch 2, sequence 8) and seeded feeds: token ids inside the
    vocabulary, segment ids 0/1, a padding mask with the last 3 positions of row 1 masked,
    images N(0, 1)."""
    rng = np.random.default_rng(5)
    shapes, feeds = {}, {}
    for t in model.inputs:
        name = t._keras_history.operation.name
        shape = (BATCH,) + tuple(SEQ if d is None else d for d in t.shape[1:])
        shapes[name] = shape
        if "mask" in name:
            a = np.ones(shape, t.dtype)
            a[1, -3:] = 0
        elif "segment" in name:
            a = rng.integers(0, 2, size=shape).astype(t.dtype)
        elif "int" in str(t.dtype):
            a = rng.integers(1, 50, size=shape).astype(t.dtype)
        else:
            a = rng.normal(size=shape).astype(t.dtype)
        feeds[name] = a
    return shapes, feeds


def _expected(model, feeds):
    flat = keras.Model(model.inputs, model.outputs)
    arrays = [feeds[t._keras_history.operation.name] for t in model.inputs]
    out = flat.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    return out if isinstance(out, list) else [out]


def _close(got, want, what):
    """rtol 1e-4 and atol 1e-4 scaled to the output's magnitude."""
    for g, w in zip(got, want):
        atol = 1e-4 * max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=atol, err_msg=what)
        # the comparison is not vacuous: the batch rows differ
        assert not np.allclose(w[0], w[1]), what


@pytest.mark.parametrize("family", [pytest.param(f, marks=pytest.mark.slow) if f in SLOW
                                    else f for f in sorted(FAMILIES)])
def test_keras_hub_backbone_converts_and_matches(family):
    model = _build(family)
    shapes, feeds = _inputs(model)
    if family not in STATIC_BATCH:  # the batch stays dynamic (ops.shape(x)[0] read)
        shapes = {k: (None,) + v[1:] for k, v in shapes.items()}
    graph = from_keras(model, input_shapes=shapes)
    assert [v.name for v in graph.inputs] == list(shapes)          # dict input names kept
    assert [tuple(v.type.shape) for v in graph.inputs] == [
        tuple("batch" if d is None else d for d in s) for s in shapes.values()]
    want = _expected(model, feeds)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    _close(session.run(None, feeds), want, f"{family} onnx")
    if family not in STATIC_BATCH:  # another batch size through the same ONNX
        three = {k: np.concatenate([v, v[:1]]) for k, v in feeds.items()}
        _close(session.run(None, three), _expected(model, three), f"{family} onnx batch 3")
    emitted = to_keras(graph)
    arrays = [feeds[v.name] for v in graph.inputs]
    got = emitted.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    _close(keras.tree.flatten(got), want, f"{family} keras")
    if family not in VISION:  # text blocks
        block = BLOCKS.get(family, "transformer_layer_0")
        weights = list(graph.weights)
        assert any("/" in w for w in weights)                     # scoped Keras paths
        if block:
            assert any(w.startswith(block + "/") for w in weights), weights[:10]


def test_emitted_bert_reloads_in_a_process_without_keras_hub(tmp_path):
    """The emitted model is built-in layers and keras.ops only: it loads with
    ``safe_mode=True`` where keras_hub was never imported, and matches.  Lowered with
    no sizes given, it keeps the batch and the length dynamic: run at batch 3, length 5
    (the rulers that read sizes at run time are keras.ops too)."""
    model = _build("bert")
    _, feeds = _inputs(model)
    feeds = {k: np.concatenate([v, v[:1]])[:, :5] for k, v in feeds.items()}
    graph = from_keras(model)
    path = tmp_path / "bert.keras"
    save_keras(to_keras(graph), path)
    np.savez(tmp_path / "in.npz", *[feeds[v.name] for v in graph.inputs])
    code = ("import sys, numpy as np, keras\n"
            "m = keras.saving.load_model(sys.argv[1], safe_mode=True)\n"
            "x = np.load(sys.argv[2])\n"
            "y = m.predict([x[f'arr_{i}'] for i in range(len(x.files))], verbose=0)\n"
            "np.savez(sys.argv[3], *keras.tree.flatten(y))\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in "
            "('keras_hub', 'keras_nlp', 'graphir')))\n")
    run = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "in.npz"),
                          str(tmp_path / "out.npz")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"
    got = np.load(tmp_path / "out.npz")
    _close([got[f"arr_{i}"] for i in range(len(got.files))], _expected(model, feeds),
           "bert reloaded")


@pytest.mark.parametrize("shapes, match", [
    ({"tokens": (2, 8)}, "not an input"),
    ({"token_ids": (2,)}, "rank 2"),
    ({"token_ids": (2, 0)}, "positive int"),
    ({"token_ids": (2, 8.0)}, "positive int"),
])
def test_bad_input_shapes_are_refused_by_name(shapes, match):
    model = _build("distilbert")
    with pytest.raises(InputShapeError, match=match):
        from_keras(model, input_shapes=shapes)


def test_input_shapes_cannot_contradict_a_static_size():
    model = _build("vit")
    with pytest.raises(InputShapeError, match="axis 1 is 16"):
        from_keras(model, input_shapes={"images": (2, 32, 32, 3)})


def test_cli_input_shape_converts_a_saved_backbone(tmp_path):
    """``graphir convert model.keras out.onnx --import keras_hub --input-shape ...``: the
    file's keras_hub classes load (registered by the imported package) and the static
    sizes give a static graph; without them the graph keeps the batch and the sequence
    length dynamic; a malformed size is a one-line usage error (exit 2)."""
    from click.testing import CliRunner

    from graphir.app.cli import cli

    model = _build("distilbert")
    shapes, feeds = _inputs(model)
    path = tmp_path / "distilbert.keras"
    model.save(path)
    out = tmp_path / "distilbert.onnx"
    args = ["convert", str(path), str(out), "--import", "keras_hub"]
    shape_args = [a for name, shape in shapes.items()
                  for a in ("--input-shape", f"{name}={','.join(map(str, shape))}")]
    result = CliRunner().invoke(cli, args + shape_args)
    assert result.exit_code == 0, result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    _close(session.run(None, feeds), _expected(model, feeds), "cli onnx")

    # without sizes the backbone stays dynamic (batch and sequence length)
    out2 = tmp_path / "distilbert_dynamic.onnx"
    dynamic = CliRunner().invoke(cli, ["convert", str(path), str(out2), "--import",
                                       "keras_hub"])
    assert dynamic.exit_code == 0, dynamic.output
    short = {k: np.concatenate([v, v[:1]])[:, :5] for k, v in feeds.items()}
    session = ort.InferenceSession(str(out2), providers=["CPUExecutionProvider"])
    _close(session.run(None, short), _expected(model, short), "cli onnx, dynamic sizes")
    # verified against the backbone (dict inputs); the shape case's longer sequence
    # would exceed the 16-row position table, so it runs a shorter one
    verified = CliRunner().invoke(cli, ["verify", str(path), "--import", "keras_hub",
                                        "--device", "cpu", "--json"])
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    dims = {c["name"]: c["unknown_dim"] for c in report["cases"]}
    assert dims["shape-1"] < dims["primary"] <= 16, dims
    assert report["comparisons"] and all(c["passed"] for c in report["comparisons"])
    bad = CliRunner().invoke(cli, args + ["--input-shape", "token_ids=2,x"])
    assert bad.exit_code == 2
    assert "--input-shape" in bad.output and "Usage" not in bad.output
    # --input-dtype: the ONNX takes int64 ids (NumPy's default) and casts them, as Keras
    out3 = tmp_path / "distilbert_int64.onnx"
    dtype_args = [a for name in feeds for a in ("--input-dtype", f"{name}=int64")]
    wide = CliRunner().invoke(cli, args[:2] + [str(out3)] + args[3:] + dtype_args)
    assert wide.exit_code == 0, wide.output
    session = ort.InferenceSession(str(out3), providers=["CPUExecutionProvider"])
    as64 = {k: v.astype("int64") for k, v in feeds.items()}
    _close(session.run(None, as64), _expected(model, feeds), "cli onnx, int64 inputs")
    bad = CliRunner().invoke(cli, args + ["--input-dtype", "token_ids=int65"])
    assert bad.exit_code == 2 and "--input-dtype" in bad.output
