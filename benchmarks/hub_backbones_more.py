"""A held-out set of keras_hub *backbones* for ``keras_examples_probe.py --module
hub_backbones_more``: one model per keras_hub backbone class that
``hub_and_masks_models.py`` and the earlier sets do not build (decoder LMs with grouped
query attention, mixtures of experts, linear / recurrent attention, encoder-decoders,
protein and permutation LMs, dual encoders, convolutional and windowed-attention image
backbones, segmentation / detection backbones on a small image encoder), a few keras_hub
task models without preprocessors on such backbones, and user functional models around
public keras_hub layers.

Every backbone is built from a SMALL config with constructor arguments (never
``from_preset``: nothing is downloaded).  The probe feeds integers in [0, 10) and every
unknown dim as 32; dict-input backbones are wrapped in a functional model with one
``keras.Input`` per backbone input (in ``backbone.inputs`` order), the order the probe
feeds.  Image backbones whose sizes must be multiples of a patch / window get static image
shapes.  Nothing here is imported by graphir or its tests.
"""

import keras
from keras import layers as L, ops

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


def _hub():
    import keras_hub

    return keras_hub


def _as_list_inputs(net):
    """A functional model with one keras.Input per input of the dict-input ``net`` (same
    names, shapes and dtypes, in ``net.inputs`` order), calling ``net`` on the dict: the
    probe feeds a list, which a dict-structured backbone refuses."""
    ins = [keras.Input(t.shape[1:], dtype=t.dtype, name=t.name) for t in net.inputs]
    if not isinstance(net.input, dict):
        return keras.Model(ins, net(ins[0] if len(ins) == 1 else ins))
    return keras.Model(ins, net({t.name: t for t in ins}))


# --------------------------------------------------------------------------------------
# decoder-only language models
# --------------------------------------------------------------------------------------


@model
def hub_llama3_backbone():
    """Llama3: 30 tokens, 1 layer, 2 query heads / 1 kv head, hidden 8, rope scaling."""
    b = _hub().models.Llama3Backbone(30, 1, 2, 8, 16, 1, rope_position_scaling_factor=8.0,
                                     rope_frequency_adjustment_factor=8.0,
                                     rope_low_freq_factor=1.0, rope_high_freq_factor=4.0,
                                     rope_pretraining_sequence_length=16)
    return _as_list_inputs(b)


@model
def hub_phi3_backbone():
    """Phi3: 1 layer, hidden 8, 2 query heads / 1 kv head."""
    b = _hub().models.Phi3Backbone(30, 1, 8, 16, 2, 1, max_sequence_length=64,
                                   pretraining_sequence_length=64)
    return _as_list_inputs(b)


@model
def hub_phi3_backbone_su_rope():
    """Phi3 with 'su' long-rope scaling (a longer max length than pretraining)."""
    b = _hub().models.Phi3Backbone(30, 1, 8, 16, 2, 1, max_sequence_length=64,
                                   pretraining_sequence_length=16, rope_scaling_type="su",
                                   rope_scaling_short_factor=[1.0, 1.5],
                                   rope_scaling_long_factor=[2.0, 3.0])
    return _as_list_inputs(b)


@model
def hub_qwen2_backbone():
    """Qwen (Qwen2) : 2 query heads / 1 kv head, hidden 8, tied embeddings."""
    b = _hub().models.QwenBackbone(30, 1, 2, 1, 8, 16)
    return _as_list_inputs(b)


@model
def hub_qwen2_backbone_sliding_window():
    b = _hub().models.QwenBackbone(30, 2, 2, 1, 8, 16, use_sliding_window_attention=True,
                                   sliding_window_size=4)
    return _as_list_inputs(b)


@model
def hub_qwen_moe_backbone():
    """QwenMoe: 4 experts, top-2, a shared expert."""
    b = _hub().models.QwenMoeBackbone(30, 1, 2, 1, 8, 16, moe_intermediate_dim=8,
                                      shared_expert_intermediate_dim=8, num_experts=4,
                                      top_k=2)
    return _as_list_inputs(b)


@model
def hub_qwen3_moe_backbone():
    """Qwen3Moe: 4 experts, top-2, head_dim 4, normalized top-k probabilities."""
    b = _hub().models.Qwen3MoeBackbone(30, 1, 2, 1, 8, 16, 8, 4, head_dim=4, top_k=2,
                                       norm_top_k_prob=True)
    return _as_list_inputs(b)


@model
def hub_qwen3_5_backbone():
    """Qwen3.5: one GatedDeltaNet linear-attention layer and one full-attention layer
    (head_dim 8: a quarter of it rotary)."""
    b = _hub().models.Qwen3_5Backbone(
        30, 2, 2, 1, 8, 16, 16, layer_types=["linear_attention", "full_attention"],
        linear_num_key_heads=2, linear_num_value_heads=2, linear_key_head_dim=4,
        linear_value_head_dim=4, linear_conv_kernel_dim=4)
    return _as_list_inputs(b)


@model
def hub_qwen3_5_moe_backbone():
    b = _hub().models.Qwen3_5MoeBackbone(
        30, 2, 2, 1, 8, 16, 8, 8, 4, 2, layer_types=["linear_attention", "full_attention"],
        linear_num_key_heads=2, linear_num_value_heads=2, linear_key_head_dim=4,
        linear_value_head_dim=4, linear_conv_kernel_dim=4)
    return _as_list_inputs(b)


@model
def hub_gpt_oss_backbone():
    """GptOss: 4 experts top-2, attention sinks, sliding window 4."""
    b = _hub().models.GptOssBackbone(30, 2, 2, 8, 16, 1, 4, top_k=2, sliding_window=4,
                                     head_dim=4)
    return _as_list_inputs(b)


@model
def hub_gemma3_text_backbone():
    """Gemma3 text-only: query-key norm, sliding window 4, soft caps, post norms."""
    b = _hub().models.Gemma3Backbone(
        30, None, 2, 2, 1, 8, 16, 4, use_post_ffw_norm=True, use_post_attention_norm=True,
        attention_logit_soft_cap=50.0, final_logit_soft_cap=30.0,
        use_sliding_window_attention=True, sliding_window_size=4)
    return _as_list_inputs(b)


@model
def hub_gemma4_text_backbone():
    """Gemma4 text-only: sliding window layers with a global layer every 2."""
    b = _hub().models.Gemma4Backbone(30, None, 2, 2, 1, 8, 16, 4, sliding_window_size=4,
                                     sliding_window_pattern=2)
    return _as_list_inputs(b)


@model
def hub_smollm3_backbone():
    """SmolLM3: RoPE on the first layer only (NoPE on the second)."""
    b = _hub().models.SmolLM3Backbone(
        vocabulary_size=30, hidden_dim=8, intermediate_dim=16, num_layers=2,
        num_attention_heads=2, num_key_value_heads=1, attention_bias=False,
        attention_dropout=0.0, rope_layer_enabled_list=[True, False],
        layer_types=["attention", "attention"], mlp_bias=False, layer_norm_epsilon=1e-5,
        max_position_embeddings=64, rope_theta=10000.0, partial_rotary_factor=1.0)
    return _as_list_inputs(b)


@model
def hub_rwkv7_backbone():
    """RWKV-7: hidden 16, head size 8 (2 heads), small LoRA ranks."""
    b = _hub().models.RWKV7Backbone(hidden_size=16, head_size=8, num_layers=1,
                                    vocabulary_size=30, intermediate_dim=32, gate_lora=4,
                                    mv_lora=4, aaa_lora=4, decay_lora=4)
    return _as_list_inputs(b)


# --------------------------------------------------------------------------------------
# encoders and encoder-decoders
# --------------------------------------------------------------------------------------


@model
def hub_esm2_backbone():
    """ESM2: rotary positions, pre-layer norm."""
    b = _hub().models.ESMBackbone(30, 1, 2, 8, 16, max_sequence_length=32,
                                  use_pre_layer_norm=True)
    return _as_list_inputs(b)


@model
def hub_esm1_backbone_absolute_positions():
    """ESM (v1): absolute learned positions, post-layer norm."""
    b = _hub().models.ESMBackbone(30, 1, 2, 8, 16, max_sequence_length=40,
                                  position_embedding_type="absolute")
    return _as_list_inputs(b)


@model
def hub_roformer_v2_backbone():
    b = _hub().models.RoformerV2Backbone(30, 1, 2, 8, 16, 4, num_segments=10)
    return _as_list_inputs(b)


@model
def hub_xlnet_backbone():
    b = _hub().models.XLNetBackbone(30, 1, 2, 8, 16)
    return _as_list_inputs(b)


@model
def hub_edrec_backbone():
    b = _hub().models.EdRecBackbone(30, 1, 1, 8, 16, 2)
    return _as_list_inputs(b)


@model
def hub_t5gemma_backbone():
    b = _hub().models.T5GemmaBackbone(
        vocabulary_size=30, encoder_hidden_dim=8, encoder_intermediate_dim=16,
        encoder_num_layers=1, encoder_num_attention_heads=2, encoder_num_key_value_heads=1,
        encoder_head_dim=4, encoder_layer_types=["full_attention"], decoder_hidden_dim=8,
        decoder_intermediate_dim=16, decoder_num_layers=2, decoder_num_attention_heads=2,
        decoder_num_key_value_heads=1, decoder_head_dim=4,
        decoder_layer_types=["sliding_attention", "full_attention"], sliding_window=4,
        attn_logit_softcapping=50.0, final_logit_softcapping=30.0)
    return _as_list_inputs(b)


@model
def hub_t5gemma2_backbone():
    b = _hub().models.T5Gemma2Backbone(
        vocabulary_size=30, encoder_hidden_dim=8, encoder_intermediate_dim=16,
        encoder_num_layers=1, encoder_num_attention_heads=2, encoder_num_key_value_heads=1,
        encoder_head_dim=4, encoder_layer_types=["full_attention"], decoder_hidden_dim=8,
        decoder_intermediate_dim=16, decoder_num_layers=2, decoder_num_attention_heads=2,
        decoder_num_key_value_heads=1, decoder_head_dim=4,
        decoder_layer_types=["sliding_attention", "full_attention"], sliding_window=4)
    return _as_list_inputs(b)


@model
def hub_moonshine_backbone():
    """Moonshine (speech): raw audio [batch, samples, 1] through the conv preprocessor,
    1 encoder and 1 decoder layer, hidden 16, partial rotary.  The audio is static at
    2048 samples (convolutions of stride 64, 3, 2 leave 4 frames; 32 samples leave none);
    the decoder length is unknown."""
    b = _hub().models.MoonshineBackbone(30, 16, 1, 1, 16, 32, 2, 2,
                                        max_position_embeddings=64)
    static = {"encoder_input_values": (2048, 1), "encoder_padding_mask": (2048,)}
    ins = [keras.Input(static.get(t.name, t.shape[1:]), dtype=t.dtype, name=t.name)
           for t in b.inputs]
    return keras.Model(ins, b({t.name: t for t in ins}))


# --------------------------------------------------------------------------------------
# dual (image + text) encoders
# --------------------------------------------------------------------------------------


@model
def hub_clip_backbone():
    """CLIP: a 32x32 ViT (patch 8) and a 16-token text encoder, projection 8."""
    kh = _hub()
    vis = kh.models.CLIPVisionEncoder(8, 8, 1, 2, 16, image_shape=(32, 32, 3))
    txt = kh.models.CLIPTextEncoder(30, 8, 8, 1, 2, 16, max_sequence_length=16)
    b = kh.models.CLIPBackbone(vis, txt, projection_dim=8)
    ins = [keras.Input((32, 32, 3), name="images"),
           keras.Input((16,), dtype="int32", name="token_ids")]
    return keras.Model(ins, b({"images": ins[0], "token_ids": ins[1]}))


@model
def hub_siglip_backbone():
    kh = _hub()
    vis = kh.models.SigLIPVisionEncoder(8, 8, 1, 2, 16, image_shape=(32, 32, 3))
    txt = kh.models.SigLIPTextEncoder(30, 8, 8, 1, 2, 16, max_sequence_length=16)
    b = kh.models.SigLIPBackbone(vis, txt)
    ins = [keras.Input((32, 32, 3), name="images"),
           keras.Input((16,), dtype="int32", name="token_ids")]
    return keras.Model(ins, b({"images": ins[0], "token_ids": ins[1]}))


@model
def hub_metaclip2_backbone():
    kh = _hub()
    vis = kh.models.MetaCLIP2VisionEncoder(8, 8, 1, 2, 16, image_shape=(32, 32, 3))
    txt = kh.models.MetaCLIP2TextEncoder(30, 8, 8, 1, 2, 16, max_sequence_length=16)
    b = kh.models.MetaCLIP2Backbone(vis, txt, projection_dim=8)
    ins = [keras.Input((32, 32, 3), name="images"),
           keras.Input((16,), dtype="int32", name="token_ids")]
    return keras.Model(ins, b({"images": ins[0], "token_ids": ins[1]}))


# --------------------------------------------------------------------------------------
# image backbones
# --------------------------------------------------------------------------------------


@model
def hub_cspnet_darknet_backbone():
    """CSPNet 'dark' blocks, two stages, unknown image size (fed 32x32)."""
    b = _hub().models.CSPNetBackbone(
        stem_filters=8, stem_kernel_size=3, stem_strides=1, stackwise_depth=[1, 1],
        stackwise_strides=[1, 2], stackwise_num_filters=[8, 16], block_type="dark_block",
        stage_type="dark")
    return b


@model
def hub_cspnet_bottleneck_backbone():
    """CSPNet cross-stage 'bottleneck' blocks (the cspresnet layout), a stride-4 stem
    with -inf padded max pooling."""
    b = _hub().models.CSPNetBackbone(
        stem_filters=8, stem_kernel_size=3, stem_strides=4, stackwise_depth=[1, 1],
        stackwise_strides=[1, 2], stackwise_num_filters=[16, 32],
        block_type="bottleneck_block", stage_type="csp", bottle_ratio=[0.5],
        block_ratio=[1.0], expand_ratio=[2.0], stem_padding="same", stem_pooling="max",
        image_shape=(32, 32, 3))
    return b


@model
def hub_hgnetv2_backbone():
    b = _hub().models.HGNetV2Backbone(
        depths=[1, 1], embedding_size=8, hidden_sizes=[16, 32], stem_channels=[3, 8, 8],
        hidden_act="relu", use_learnable_affine_block=True,
        stackwise_stage_filters=[(8, 8, 16, 1, 2, 3), (16, 8, 32, 1, 2, 3)],
        apply_downsample=[False, True], use_lightweight_conv_block=[False, True],
        image_shape=(32, 32, 3))
    return b


@model
def hub_mobilenet_v3_backbone():
    """MobileNetV3-style: inverted residuals with squeeze-excite and hard-swish."""
    b = _hub().models.MobileNetBackbone(
        stackwise_expansion=[[2, 3]], stackwise_num_blocks=[2],
        stackwise_num_filters=[[8, 8]], stackwise_kernel_size=[[3, 5]],
        stackwise_num_strides=[[2, 1]], stackwise_se_ratio=[[None, 0.25]],
        stackwise_activation=[["relu", "hard_swish"]], stackwise_padding=[[1, 2]],
        output_num_filters=16, depthwise_filters=8, depthwise_stride=2,
        depthwise_residual=False, last_layer_filter=16, squeeze_and_excite=0.5,
        image_shape=(32, 32, 3), input_num_filters=8)
    return b


@model
def hub_mobilenet_v5_backbone():
    """MobileNetV5: edge residual + universal inverted residual blocks (RMS norm)."""
    b = _hub().models.MobileNetV5Backbone(
        stackwise_block_types=[["er"], ["uir", "uir"]], stackwise_num_blocks=[1, 2],
        stackwise_num_filters=[[8], [16, 16]], stackwise_strides=[[2], [2, 1]],
        stackwise_act_layers=[["relu"], ["relu", "relu"]],
        stackwise_exp_ratios=[[2.0], [2.0, 2.0]], stackwise_se_ratios=[[0.0], [0.0, 0.0]],
        stackwise_dw_kernel_sizes=[[0], [3, 3]],
        stackwise_dw_start_kernel_sizes=[[0], [3, 0]],
        stackwise_dw_end_kernel_sizes=[[0], [0, 3]],
        stackwise_exp_kernel_sizes=[[3], [0, 0]], stackwise_pw_kernel_sizes=[[1], [0, 0]],
        stackwise_num_heads=[[0], [0, 0]], stackwise_key_dims=[[0], [0, 0]],
        stackwise_value_dims=[[0], [0, 0]], stackwise_kv_strides=[[0], [0, 0]],
        stackwise_use_cpe=[[False], [False, False]], stem_size=8, num_features=16,
        use_msfa=False, image_shape=(32, 32, 3))
    return b


@model
def hub_swin_transformer_backbone():
    """Swin: 32x32 image, patch 2 (16x16 tokens), window 4, two stages (shifted windows
    and patch merging)."""
    b = _hub().models.SwinTransformerBackbone(
        image_shape=(32, 32, 3), embed_dim=8, depths=(2, 1), num_heads=(1, 2),
        window_size=4, patch_size=2, drop_path=0.0)
    return b


@model
def hub_dinov3_backbone():
    """DINOv3: patch 8 on 32x32, 2 register tokens, RoPE, gated MLP, layer scale."""
    b = _hub().models.DINOV3Backbone(8, 1, 8, 2, 16, num_register_tokens=2,
                                     use_gated_mlp=True, hidden_activation="silu",
                                     image_shape=(32, 32, 3))
    return b


@model
def hub_videoprism_backbone():
    """VideoPrism video encoder: 2 frames of 16x16, patch 8, factorized space / time."""
    b = _hub().models.VideoPrismBackbone(2, 8, 8, 16, 2, 1, 1, 0,
                                         image_shape=(16, 16, 3))
    return _as_list_inputs(b)


def _small_resnet(levels=4, image_shape=(None, None, 3)):
    """A small basic-block ResNet with pyramid outputs P2 .. P(levels + 1)."""
    return _hub().models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 8, 16, 16][:levels], stackwise_num_blocks=[1] * levels,
        stackwise_num_strides=[1, 2, 2, 2][:levels], block_type="basic_block",
        image_shape=image_shape)


# --------------------------------------------------------------------------------------
# backbones on another backbone (segmentation, detection, depth, OCR, VLMs)
# --------------------------------------------------------------------------------------


@model
def hub_deeplab_v3_backbone():
    """DeepLabV3+ on a small ResNet: ASPP on P5 (dilations 1, 2), low-level P2 fusion,
    upsampling x8, unknown image size (fed 32x32)."""
    b = _hub().models.DeepLabV3Backbone(
        _small_resnet(), spatial_pyramid_pooling_key="P5", upsampling_size=8,
        dilation_rates=[1, 2], low_level_feature_key="P2", projection_filters=8)
    return b


@model
def hub_retinanet_backbone():
    """RetinaNet FPN on a small ResNet: levels P3 .. P5, P6/P7 from the last output."""
    b = _hub().models.RetinaNetBackbone(_small_resnet(), min_level=3, max_level=7,
                                        use_p5=False, use_fpn_batch_norm=True,
                                        image_shape=(64, 64, 3))
    return _as_list_inputs(b)


@model
def hub_basnet_backbone():
    """BASNet predict-refine on a small ResNet (its stem feeds block 1: 64 filters),
    32x32, 1 class."""
    b = _hub().models.BASNetBackbone(_small_resnet(), num_classes=1,
                                     image_shape=(32, 32, 3), projection_filters=64)
    return _as_list_inputs(b)


@model
def hub_depth_anything_backbone():
    """DepthAnything DPT head on a small DINOv2 (patch 4, 28x28 image)."""
    kh = _hub()
    enc = kh.models.DINOV2Backbone(4, 4, 8, 2, 16, image_shape=(28, 28, 3),
                                   position_embedding_shape=(28, 28, 3))
    b = kh.models.DepthAnythingBackbone(
        enc, reassemble_factors=[4, 2, 1, 0.5], neck_hidden_dims=[4, 8, 8, 8],
        fusion_hidden_dim=8, head_hidden_dim=4, head_in_index=-1,
        feature_keys=["stage1", "stage2", "stage3", "stage4"])
    return _as_list_inputs(b)


@model
def hub_parseq_backbone():
    """PARSeq OCR: a small ViT encoder (no class token) and the permutation decoder."""
    kh = _hub()
    enc = kh.models.ViTBackbone(image_shape=(16, 32, 3), patch_size=(4, 8), num_layers=1,
                                num_heads=2, hidden_dim=8, mlp_dim=16,
                                use_class_token=False)
    b = kh.models.PARSeqBackbone(enc, vocabulary_size=30, max_label_length=32,
                                 decoder_hidden_dim=8, num_decoder_layers=1,
                                 num_decoder_heads=2, decoder_mlp_dim=16)
    return _as_list_inputs(b)


@model
def hub_pali_gemma_backbone():
    """PaliGemma: a 16x16 SigLIP-style ViT (patch 8, 4 image tokens) prefixed to a
    1-layer Gemma decoder."""
    b = _hub().models.PaliGemmaBackbone(
        vocabulary_size=30, image_size=16, num_layers=1, num_query_heads=2,
        num_key_value_heads=1, hidden_dim=8, intermediate_dim=16, head_dim=4,
        vit_patch_size=8, vit_num_heads=2, vit_hidden_dim=8, vit_num_layers=1,
        vit_intermediate_dim=16)
    return _as_list_inputs(b)


@model
def hub_sam_backbone():
    """SAM: a small ViTDet image encoder (32x32, patch 8, window 2), the prompt encoder
    (points, boxes, no masks) and a 1-layer two-way mask decoder."""
    kh = _hub()
    enc = kh.models.ViTDetBackbone(hidden_size=8, num_layers=2, intermediate_dim=16,
                                   num_heads=2, global_attention_layer_indices=[1],
                                   patch_size=8, num_output_channels=8, window_size=2,
                                   image_shape=(32, 32, 3))
    prompt = kh.layers.SAMPromptEncoder(hidden_size=8, image_embedding_size=(4, 4),
                                        input_image_size=(32, 32), mask_in_channels=4)
    dec = kh.layers.SAMMaskDecoder(hidden_size=8, num_layers=1, intermediate_dim=16,
                                   num_heads=2, embedding_dim=8, num_multimask_outputs=3,
                                   iou_head_depth=2, iou_head_hidden_dim=8)
    b = kh.models.SAMBackbone(enc, prompt, dec)
    imgs = keras.Input((32, 32, 3), name="images")
    points = keras.Input((1, 2), name="points")
    labels = keras.Input((1,), name="labels")
    boxes = keras.Input((1, 2, 2), name="boxes")
    masks = ops.zeros_like(imgs[:, None, :, :, :1])[:, :0]  # no mask prompts
    out = b({"images": imgs, "points": points * 16.0, "labels": ops.ones_like(labels),
             "boxes": boxes * 16.0, "masks": masks})
    return keras.Model([imgs, points, labels, boxes], out)


# --------------------------------------------------------------------------------------
# keras_hub task models on the backbones above (no preprocessor)
# --------------------------------------------------------------------------------------


@model
def task_llama3_causal_lm():
    kh = _hub()
    b = kh.models.Llama3Backbone(30, 1, 2, 8, 16, 1)
    return _as_list_inputs(kh.models.Llama3CausalLM(b, preprocessor=None))


@model
def task_qwen3_moe_causal_lm():
    kh = _hub()
    b = kh.models.Qwen3MoeBackbone(30, 1, 2, 1, 8, 16, 8, 4, head_dim=4, top_k=2)
    return _as_list_inputs(kh.models.Qwen3MoeCausalLM(b, preprocessor=None))


@model
def task_phi3_causal_lm():
    kh = _hub()
    b = kh.models.Phi3Backbone(30, 1, 8, 16, 2, 1, max_sequence_length=64,
                               pretraining_sequence_length=64)
    return _as_list_inputs(kh.models.Phi3CausalLM(b, preprocessor=None))


@model
def task_roformer_v2_text_classifier():
    kh = _hub()
    b = kh.models.RoformerV2Backbone(30, 1, 2, 8, 16, 4, num_segments=10)
    return _as_list_inputs(kh.models.RoformerV2TextClassifier(b, num_classes=3,
                                                              preprocessor=None))


@model
def task_esm_protein_classifier():
    kh = _hub()
    b = kh.models.ESMBackbone(30, 1, 2, 8, 16, max_sequence_length=32)
    return _as_list_inputs(kh.models.ESMProteinClassifier(b, num_classes=2,
                                                          preprocessor=None,
                                                          hidden_dim=8))


@model
def task_t5gemma_seq2seq_lm():
    kh = _hub()
    b = kh.models.T5GemmaBackbone(
        vocabulary_size=30, encoder_hidden_dim=8, encoder_intermediate_dim=16,
        encoder_num_layers=1, encoder_num_attention_heads=2, encoder_num_key_value_heads=1,
        encoder_head_dim=4, encoder_layer_types=["full_attention"], decoder_hidden_dim=8,
        decoder_intermediate_dim=16, decoder_num_layers=1, decoder_num_attention_heads=2,
        decoder_num_key_value_heads=1, decoder_head_dim=4,
        decoder_layer_types=["full_attention"])
    return _as_list_inputs(kh.models.T5GemmaSeq2SeqLM(b, preprocessor=None))


@model
def task_cspnet_image_classifier():
    kh = _hub()
    b = kh.models.CSPNetBackbone(
        stem_filters=8, stem_kernel_size=3, stem_strides=1, stackwise_depth=[1, 1],
        stackwise_strides=[1, 2], stackwise_num_filters=[8, 16], block_type="dark_block",
        stage_type="dark", image_shape=(32, 32, 3))
    return kh.models.CSPNetImageClassifier(b, num_classes=3, preprocessor=None)


@model
def task_swin_image_classifier():
    kh = _hub()
    b = kh.models.SwinTransformerBackbone(
        image_shape=(32, 32, 3), embed_dim=8, depths=(1, 1), num_heads=(1, 2),
        window_size=4, patch_size=2, drop_path=0.0)
    return kh.models.SwinTransformerImageClassifier(b, num_classes=3, preprocessor=None)


@model
def task_deeplab_v3_image_segmenter():
    kh = _hub()
    b = kh.models.DeepLabV3Backbone(
        _small_resnet(), spatial_pyramid_pooling_key="P4", upsampling_size=4,
        dilation_rates=[1, 2], low_level_feature_key="P2", projection_filters=8)
    return kh.models.DeepLabV3ImageSegmenter(b, num_classes=3, preprocessor=None)


# --------------------------------------------------------------------------------------
# public keras_hub layers inside user functional models
# --------------------------------------------------------------------------------------


class RopeCausalAttention(L.Layer):
    """Hand-written causal self-attention with keras_hub's RotaryEmbedding on q and k
    (the mask is built from the run-time length)."""

    def __init__(self, heads=2, head_dim=4, **kw):
        super().__init__(**kw)
        self.heads, self.head_dim = heads, head_dim
        self.qkv = L.Dense(3 * heads * head_dim)
        self.out = L.Dense(heads * head_dim)
        self.rope = _hub().layers.RotaryEmbedding(max_wavelength=100)

    def call(self, x):
        b, n = ops.shape(x)[0], ops.shape(x)[1]
        q, k, v = ops.split(ops.reshape(self.qkv(x), (b, n, 3 * self.heads, self.head_dim)),
                            3, axis=2)
        q, k = self.rope(q), self.rope(k)
        s = ops.einsum("bqhd,bkhd->bhqk", q, k) / float(self.head_dim) ** 0.5
        causal = ops.arange(n)[:, None] >= ops.arange(n)[None, :]
        s = ops.where(causal[None, None], s, -1e9)
        a = ops.einsum("bhqk,bkhd->bqhd", ops.softmax(s, axis=-1), v)
        return x + self.out(ops.reshape(a, (b, n, self.heads * self.head_dim)))


@model
def user_reversible_embedding_rotary_decoder():
    """A tiny GPT: ReversibleEmbedding (tied output projection), a hand-written causal
    attention with RotaryEmbedding on q / k, RMSNormalization, TransformerDecoder
    (causal, no cross attention) and the embedding reversed into logits."""
    kh = _hub()
    tok = keras.Input((None,), dtype="int32")
    emb = kh.layers.ReversibleEmbedding(30, 8, tie_weights=True)
    x = RopeCausalAttention()(emb(tok))
    x = kh.layers.RMSNormalization(8)(x)
    x = kh.layers.TransformerDecoder(16, 2)(x, decoder_padding_mask=ops.not_equal(tok, 0))
    return keras.Model(tok, emb(x, reverse=True))


@model
def user_sine_position_transformer_encoder_masked_lm_head():
    """TokenAndPositionEmbedding-free encoder: Embedding + SinePositionEncoding, two
    TransformerEncoders (padding mask from the ids, one pre-norm), a MaskedLMHead on
    given mask positions tied to the embedding."""
    kh = _hub()
    tok = keras.Input((16,), dtype="int32", name="tokens")
    pos = keras.Input((4,), dtype="int32", name="mask_positions")
    emb = kh.layers.ReversibleEmbedding(30, 8)
    x = emb(tok)
    x = x + kh.layers.SinePositionEncoding()(x)
    pad = ops.not_equal(tok, 0)
    x = kh.layers.TransformerEncoder(16, 2)(x, padding_mask=pad)
    x = kh.layers.TransformerEncoder(16, 2, normalize_first=True, activation="gelu")(
        x, padding_mask=pad)
    head = kh.layers.MaskedLMHead(vocabulary_size=30, token_embedding=emb,
                                  activation="softmax")
    return keras.Model([tok, pos], head(x, mask_positions=ops.minimum(pos, 15)))


@model
def user_alibi_position_embedding_cross_decoder():
    """An encoder-decoder from public layers: PositionEmbedding on the encoder,
    AlibiBias added to hand-written decoder self-attention scores, and a
    TransformerDecoder with cross attention to the encoder output."""
    kh = _hub()
    src = keras.Input((12,), dtype="int32")
    tgt = keras.Input((None,), dtype="int32")
    e = L.Embedding(30, 8)(src)
    e = e + kh.layers.PositionEmbedding(12)(e)
    e = kh.layers.TransformerEncoder(16, 2, dropout=0.1)(e)
    d = L.Embedding(30, 8)(tgt)
    s = ops.einsum("bqd,bkd->bqk", L.Dense(8)(d), L.Dense(8)(d))[:, None]  # 1 head
    s = kh.layers.AlibiBias()(s)
    d = d + ops.einsum("bhqk,bkd->bqd", ops.softmax(s, axis=-1), L.Dense(8)(d))
    y = kh.layers.TransformerDecoder(16, 2)(d, e, decoder_padding_mask=ops.not_equal(tgt, 0),
                                            encoder_padding_mask=ops.not_equal(src, 0))
    return keras.Model([src, tgt], L.Dense(30)(y))


# --------------------------------------------------------------------------------------
# multimodal / generative backbones
# --------------------------------------------------------------------------------------


@model
def hub_flux_backbone():
    """Flux (rectified-flow transformer): 16 image tokens of 4 channels, 8 text tokens of
    12 features, 3-axis RoPE ids, a pooled vector, a timestep and a guidance scale;
    1 double-stream and 1 single-stream block, hidden 16, 2 heads."""
    b = _hub().models.FluxBackbone(
        input_channels=4, hidden_size=16, mlp_ratio=2.0, num_heads=2, depth=1,
        depth_single_blocks=1, axes_dim=[2, 2, 4], theta=100, use_bias=True,
        guidance_embed=True, image_shape=(16, 4), text_shape=(8, 12),
        image_ids_shape=(16, 3), text_ids_shape=(8, 3), y_shape=(6,))
    return _as_list_inputs(b)


@model
def hub_gemma3n_text_backbone():
    """Gemma3n text-only: AltUp (2 streams), LAuReL (rank 1), per-layer inputs, one
    sliding and one full attention layer."""
    b = _hub().models.Gemma3nBackbone(
        text_vocab_size=30, text_hidden_size=8, num_hidden_layers=2, pad_token_id=0,
        num_attention_heads=2, num_key_value_heads=1, head_dim=4, intermediate_size=[16, 16],
        hidden_activation="gelu_approximate",
        layer_types=["sliding_attention", "full_attention"], sliding_window=4,
        rope_theta=10000.0, max_position_embeddings=64, vocab_size_per_layer_input=30,
        hidden_size_per_layer_input=2, altup_num_inputs=2, laurel_rank=1)
    return _as_list_inputs(b)


@model
def hub_gemma3_vision_backbone():
    """Gemma3 with a vision encoder: a 16x16 image (patch 4, pooled 2x2 -> 4 soft
    tokens) scattered into the text sequence at given indices."""
    kh = _hub()
    vis = kh.models.Gemma3VisionEncoder(image_size=16, patch_size=4, num_heads=2,
                                        hidden_dim=8, num_layers=1, intermediate_dim=16,
                                        output_dim=8, pool_size=2)
    b = kh.models.Gemma3Backbone(30, 16, 1, 2, 1, 8, 16, 4, vision_encoder=vis)
    # inputs: images (batch, 1 image, 16, 16, 3), 12 token ids and their padding mask;
    # the 4 image-token positions (fixed at 2 .. 5) and their mask are computed
    img = keras.Input((1, 16, 16, 3), name="images")
    tok = keras.Input((12,), dtype="int32", name="token_ids")
    pad = keras.Input((12,), dtype="int32", name="padding_mask")
    n = 12
    idx = ops.zeros_like(tok[:, :4]) + ops.arange(2, 6, dtype="int32")[None]
    vmask = ops.logical_and(ops.arange(n)[None] >= 2, ops.arange(n)[None] < 6)
    vmask = ops.logical_and(vmask, ops.ones_like(tok, dtype="bool"))
    out = b({"images": img, "token_ids": tok, "padding_mask": pad, "vision_indices": idx,
             "vision_mask": vmask})
    return keras.Model([img, tok, pad], out)


@model
def hub_blip2_opt_backbone():
    """BLIP-2: a 16x16 ViT (patch 8), a 1-layer Q-Former with 2 query tokens and an
    OPT language model that prefixes the projected queries."""
    kh = _hub()
    vis = kh.models.BLIP2VisionEncoder(
        image_size=16, patch_size=8, num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, use_patch_bias=True, use_class_token=True, use_mha_bias=True,
        use_mlp_bias=True, dropout_rate=0.0, layer_norm_epsilon=1e-6,
        initializer_range=0.02)
    qf = kh.models.BLIP2QFormer(num_query_tokens=2, num_layers=1, num_heads=2, hidden_dim=8,
                                intermediate_dim=16, vision_dim=8,
                                cross_attention_frequency=1, dropout=0.0,
                                layer_norm_epsilon=1e-6)
    lm = kh.models.BLIP2CustomOPT(vocabulary_size=30, num_layers=1, num_heads=2,
                                  hidden_dim=8, intermediate_dim=16, num_query_tokens=2,
                                  dropout=0.0, max_sequence_length=64, qformer_hidden_dim=8)
    b = kh.models.BLIP2Backbone(vis, qf, lm)
    return _as_list_inputs(b)


@model
def hub_dfine_backbone():
    """D-FINE detector on a small HGNetV2 (stages 3 and 4): hybrid encoder, 8 queries,
    1 decoder layer with deformable sampling points, no denoising; 64x64 image."""
    kh = _hub()
    hg = kh.models.HGNetV2Backbone(
        depths=[1, 1, 1, 1], embedding_size=8, hidden_sizes=[16, 16, 32, 32],
        stem_channels=[3, 8, 8], hidden_act="relu", use_learnable_affine_block=True,
        stackwise_stage_filters=[(8, 8, 16, 1, 1, 3), (16, 8, 16, 1, 1, 3),
                                 (16, 8, 32, 1, 1, 3), (32, 8, 32, 1, 1, 3)],
        apply_downsample=[False, True, True, True],
        use_lightweight_conv_block=[False, False, True, True], image_shape=(64, 64, 3),
        out_features=["stage3", "stage4"])
    b = kh.models.DFineBackbone(
        backbone=hg, decoder_in_channels=[16, 16], encoder_hidden_dim=16, num_labels=3,
        num_denoising=0, learn_initial_query=False, num_queries=8,
        anchor_image_size=(64, 64), feat_strides=[16, 32], num_feature_levels=2,
        hidden_dim=16, encoder_in_channels=[32, 32], encode_proj_layers=[1],
        num_attention_heads=2, encoder_ffn_dim=16, num_encoder_layers=1,
        hidden_expansion=0.5, depth_multiplier=0.5, eval_idx=-1, num_decoder_layers=1,
        decoder_attention_heads=2, decoder_ffn_dim=16, decoder_n_points=[2, 2],
        lqe_hidden_dim=8, num_lqe_layers=2, out_features=["stage3", "stage4"],
        image_shape=(64, 64, 3), seed=0)
    return _as_list_inputs(b)


@model
def hub_stable_diffusion3_backbone():
    """Stable Diffusion 3 (one denoising step, steps=0 as in its functional graph):
    a 4-level VAE (32 filters, 'mode' sampler), two tiny CLIP text encoders (no T5), a
    1-layer MMDiT (patch 2, hidden 16) with classifier-free guidance; 32x32 images.
    ``num_steps`` is fed as the probe's int + 1 (0 steps is no schedule)."""
    kh = _hub()
    from keras_hub.src.models.vae.vae_backbone import VAEBackbone

    vae = VAEBackbone([32] * 4, [1] * 4, [32] * 4, [1] * 4, sampler_method="mode",
                      sample_channels=32, output_channels=3)
    clip_l = kh.models.CLIPTextEncoder(30, 8, 8, 1, 2, 16, intermediate_output_index=0,
                                       max_sequence_length=16)
    clip_g = kh.models.CLIPTextEncoder(30, 8, 8, 1, 2, 16, intermediate_output_index=0,
                                       max_sequence_length=16)
    b = kh.models.StableDiffusion3Backbone(
        mmdit_patch_size=2, mmdit_hidden_dim=16, mmdit_num_layers=1, mmdit_num_heads=2,
        mmdit_position_size=16, mmdit_qk_norm=None, mmdit_dual_attention_indices=None,
        vae=vae, clip_l=clip_l, clip_g=clip_g, latent_channels=16,
        image_shape=(32, 32, 3))
    ins = {}
    for t in b.inputs:
        shape = (16,) if t.name.endswith("token_ids") else t.shape[1:]
        ins[t.name] = keras.Input(shape, dtype=t.dtype, name=t.name)
    feed = dict(ins)
    feed["num_steps"] = ins["num_steps"] + 1
    return keras.Model(list(ins.values()), b(feed))


@model
def hub_sam3_promptable_concept_backbone():
    """SAM3 promptable concept segmentation: a 56x56 ViT (patch 14, window 2) with an
    FPN, a text encoder, a geometry (box prompt) encoder, DETR encoder / decoder with 4
    queries and a mask decoder.  One box prompt (32 prompts fail in Keras: a
    [2, 2, 33, 33] vs [2, 33] mask), 16 text tokens; the box is squashed into [0, 1] and its label
    taken mod 2 in the wrapper."""
    kh = _hub()
    vis = kh.layers.SAM3VisionEncoder(
        image_shape=(56, 56, 3), patch_size=14, num_layers=2, hidden_dim=8,
        intermediate_dim=16, num_heads=2, fpn_hidden_dim=8,
        fpn_scale_factors=[4.0, 2.0, 1.0, 0.5], pretrain_image_shape=(28, 28, 3),
        window_size=2, global_attn_indexes=[1])
    txt = kh.layers.SAM3TextEncoder(vocabulary_size=30, embedding_dim=8, hidden_dim=8,
                                    num_layers=1, num_heads=2, intermediate_dim=16)
    geo = kh.layers.SAM3GeometryEncoder(num_layers=1, hidden_dim=8, intermediate_dim=16,
                                        num_heads=2, roi_size=7)
    de = kh.layers.SAM3DetrEncoder(num_layers=1, hidden_dim=8, intermediate_dim=16,
                                   num_heads=2)
    dd = kh.layers.SAM3DetrDecoder(image_shape=(56, 56, 3), patch_size=14, num_layers=1,
                                   hidden_dim=8, intermediate_dim=16, num_heads=2,
                                   num_queries=4)
    md = kh.layers.SAM3MaskDecoder(num_upsampling_stages=3, hidden_dim=8, num_heads=2)
    b = kh.models.SAM3PromptableConceptBackbone(vis, txt, geo, de, dd, md)
    static = {"box_labels": (1,), "boxes": (1, 5), "padding_mask": (16,), "token_ids": (16,)}
    ins = {t.name: keras.Input(static[t.name] if t.name in static else t.shape[1:],
                               dtype=t.dtype, name=t.name) for t in b.inputs}
    feed = dict(ins)
    feed["boxes"] = ops.sigmoid(ins["boxes"])
    feed["box_labels"] = ops.mod(ins["box_labels"], 2)
    return keras.Model(list(ins.values()), b(feed))
