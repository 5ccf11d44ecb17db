"""A probe set of keras.io examples of the TensorFlow 2 era, for ``keras_examples_probe.py``
(``--module keras_examples_tf``): the model-building code as those examples wrote it,
custom layers and functions whose ``call`` uses raw TensorFlow (``import tensorflow as
tf``: ``tf.shape``, ``tf.reshape``, ``tf.transpose``, ``tf.image.extract_patches``,
``tf.range``, ``tf.linalg.matrix_transpose``, ``tf.split``, ``tf.gather``,
``tf.math.unsorted_segment_sum``, ``tf.roll``, ``tf.tile``, ``tf.einsum``,
``tf.nn.depth_to_space``, ``tf.image.crop_to_bounding_box`` ...), written from memory of
the examples with their names, structure and TensorFlow calls kept, shrunk to a few
units, 1-2 blocks, 16x16 / 32x32 images and 8-32 steps.  Each builder's docstring names
its keras.io example.

What had to change for Keras 3 (3.15, TensorFlow backend) is said in each docstring;
the recurring adaptations:

* a TensorFlow function applied to a functional-API tensor (Keras 2 wrapped it in a
  ``TFOpLambda`` layer on its own; Keras 3 refuses a ``KerasTensor`` in a tf function)
  is wrapped in ``layers.Lambda`` with the same call;
* data augmentation pipelines are left out unless said otherwise (identity at
  inference), ``adapt()`` statistics are fixed numbers, downloads (pretrained
  backbones) are small stand-ins;
* an initializer of zeros that would make a branch contribute nothing (so a numeric
  check could not see it) is left at the default;
* where the probe's unknown sizes (32) would index past an Embedding, the table is 32
  long.

Subclassed models carry ``probe_specs``.  Nothing here is imported by graphir or its
tests.
"""

import math
import typing

import numpy as np
import keras
from keras import layers
import tensorflow as tf

MODELS = {}


def model(fn):
    """Register ``fn`` (a model builder) under its name."""
    MODELS[fn.__name__] = fn
    return fn


# --------------------------------------------------------------------------------------
# vision transformers and MLP models
# --------------------------------------------------------------------------------------

@model
def vit_classifier():
    """keras.io vision/image_classification_with_vision_transformer (ViT), TF version:
    ``Patches`` (tf.shape, tf.image.extract_patches, tf.reshape), ``PatchEncoder``
    (Embedding of tf.range positions), the data_augmentation Sequential kept
    (Normalization with fixed statistics instead of adapt(), Resizing 32 -> 16, the
    random layers), pre-norm MHA blocks, ``mlp`` with Dense(activation=tf.nn.gelu)."""
    input_shape = (32, 32, 3)
    image_size = 16
    patch_size = 4
    num_patches = (image_size // patch_size) ** 2
    projection_dim = 8
    num_heads = 2
    transformer_units = [projection_dim * 2, projection_dim]
    transformer_layers = 2
    mlp_head_units = [16, 8]
    num_classes = 10

    data_augmentation = keras.Sequential(
        [
            layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.25, 0.2, 0.3]),
            layers.Resizing(image_size, image_size),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(factor=0.02),
            layers.RandomZoom(height_factor=0.2, width_factor=0.2),
        ],
        name="data_augmentation",
    )

    def mlp(x, hidden_units, dropout_rate):
        for units in hidden_units:
            x = layers.Dense(units, activation=tf.nn.gelu)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    class Patches(layers.Layer):
        def __init__(self, patch_size):
            super().__init__()
            self.patch_size = patch_size

        def call(self, images):
            batch_size = tf.shape(images)[0]
            patches = tf.image.extract_patches(
                images=images,
                sizes=[1, self.patch_size, self.patch_size, 1],
                strides=[1, self.patch_size, self.patch_size, 1],
                rates=[1, 1, 1, 1],
                padding="VALID",
            )
            patch_dims = patches.shape[-1]
            patches = tf.reshape(patches, [batch_size, -1, patch_dims])
            return patches

    class PatchEncoder(layers.Layer):
        def __init__(self, num_patches, projection_dim):
            super().__init__()
            self.num_patches = num_patches
            self.projection = layers.Dense(units=projection_dim)
            self.position_embedding = layers.Embedding(
                input_dim=num_patches, output_dim=projection_dim
            )

        def call(self, patch):
            positions = tf.range(start=0, limit=self.num_patches, delta=1)
            encoded = self.projection(patch) + self.position_embedding(positions)
            return encoded

    def create_vit_classifier():
        inputs = layers.Input(shape=input_shape)
        augmented = data_augmentation(inputs)
        patches = Patches(patch_size)(augmented)
        encoded_patches = PatchEncoder(num_patches, projection_dim)(patches)
        for _ in range(transformer_layers):
            x1 = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
            attention_output = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=projection_dim, dropout=0.1
            )(x1, x1)
            x2 = layers.Add()([attention_output, encoded_patches])
            x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
            x3 = mlp(x3, hidden_units=transformer_units, dropout_rate=0.1)
            encoded_patches = layers.Add()([x3, x2])
        representation = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
        representation = layers.Flatten()(representation)
        representation = layers.Dropout(0.5)(representation)
        features = mlp(representation, hidden_units=mlp_head_units, dropout_rate=0.5)
        logits = layers.Dense(num_classes)(features)
        return keras.Model(inputs=inputs, outputs=logits)

    return create_vit_classifier()


def _mlp_image_classification(make_blocks, embedding_dim, num_patches, patch_size):
    """The shared part of keras.io vision/mlp_image_classification: ``Patches`` (tf.shape,
    tf.image.extract_patches, tf.reshape to num_patches) and ``build_classifier``
    (augmentation left out)."""
    input_shape = (16, 16, 3)
    num_classes = 10
    dropout_rate = 0.2

    class Patches(layers.Layer):
        def __init__(self, patch_size, num_patches):
            super().__init__()
            self.patch_size = patch_size
            self.num_patches = num_patches

        def call(self, images):
            batch_size = tf.shape(images)[0]
            patches = tf.image.extract_patches(
                images=images,
                sizes=[1, self.patch_size, self.patch_size, 1],
                strides=[1, self.patch_size, self.patch_size, 1],
                rates=[1, 1, 1, 1],
                padding="VALID",
            )
            patch_dims = patches.shape[-1]
            patches = tf.reshape(patches, [batch_size, self.num_patches, patch_dims])
            return patches

    def build_classifier(blocks, positional_encoding=False):
        inputs = layers.Input(shape=input_shape)
        patches = Patches(patch_size, num_patches)(inputs)
        x = layers.Dense(units=embedding_dim)(patches)
        if positional_encoding:
            positions = tf.range(start=0, limit=num_patches, delta=1)
            position_embedding = layers.Embedding(
                input_dim=num_patches, output_dim=embedding_dim
            )(positions)
            x = x + position_embedding
        x = blocks(x)
        representation = layers.GlobalAveragePooling1D()(x)
        representation = layers.Dropout(rate=dropout_rate)(representation)
        logits = layers.Dense(num_classes)(representation)
        return keras.Model(inputs=inputs, outputs=logits)

    return build_classifier(make_blocks(dropout_rate))


@model
def mlp_mixer():
    """keras.io vision/mlp_image_classification (MLP-Mixer), TF version:
    ``MLPMixerLayer`` transposing with tf.linalg.matrix_transpose around the token MLP;
    ``tfa.layers.GELU()`` (TensorFlow Addons, gone) is ``layers.Activation("gelu")``."""
    embedding_dim = 8
    patch_size = 4
    num_patches = (16 // patch_size) ** 2
    num_blocks = 2

    class MLPMixerLayer(layers.Layer):
        def __init__(self, num_patches, hidden_units, dropout_rate, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mlp1 = keras.Sequential(
                [
                    layers.Dense(units=num_patches),
                    layers.Activation("gelu"),
                    layers.Dense(units=num_patches),
                    layers.Dropout(rate=dropout_rate),
                ]
            )
            self.mlp2 = keras.Sequential(
                [
                    layers.Dense(units=num_patches),
                    layers.Activation("gelu"),
                    layers.Dense(units=embedding_dim),
                    layers.Dropout(rate=dropout_rate),
                ]
            )
            self.normalize = layers.LayerNormalization(epsilon=1e-6)

        def call(self, inputs):
            x = self.normalize(inputs)
            x_channels = tf.linalg.matrix_transpose(x)
            mlp1_outputs = self.mlp1(x_channels)
            mlp1_outputs = tf.linalg.matrix_transpose(mlp1_outputs)
            x = mlp1_outputs + inputs
            x_patches = self.normalize(x)
            mlp2_outputs = self.mlp2(x_patches)
            x = x + mlp2_outputs
            return x

    def make_blocks(dropout_rate):
        return keras.Sequential(
            [MLPMixerLayer(num_patches, embedding_dim, dropout_rate) for _ in range(num_blocks)]
        )

    return _mlp_image_classification(make_blocks, embedding_dim, num_patches, patch_size)


@model
def gmlp():
    """keras.io vision/mlp_image_classification (gMLP), TF version: ``gMLPLayer`` whose
    spatial gating unit splits with tf.split and projects across patches between two
    tf.linalg.matrix_transpose; ``tfa.layers.GELU()`` is ``layers.Activation("gelu")``."""
    embedding_dim = 8
    patch_size = 4
    num_patches = (16 // patch_size) ** 2
    num_blocks = 2

    class gMLPLayer(layers.Layer):
        def __init__(self, num_patches, embedding_dim, dropout_rate, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.channel_projection1 = keras.Sequential(
                [
                    layers.Dense(units=embedding_dim * 2),
                    layers.Activation("gelu"),
                    layers.Dropout(rate=dropout_rate),
                ]
            )
            self.channel_projection2 = layers.Dense(units=embedding_dim)
            self.spatial_projection = layers.Dense(
                units=num_patches, bias_initializer="Ones"
            )
            self.normalize1 = layers.LayerNormalization(epsilon=1e-6)
            self.normalize2 = layers.LayerNormalization(epsilon=1e-6)

        def spatial_gating_unit(self, x):
            u, v = tf.split(x, num_or_size_splits=2, axis=2)
            v = self.normalize2(v)
            v_channels = tf.linalg.matrix_transpose(v)
            v_projected = self.spatial_projection(v_channels)
            v_projected = tf.linalg.matrix_transpose(v_projected)
            return u * v_projected

        def call(self, inputs):
            x = self.normalize1(inputs)
            x_projected = self.channel_projection1(x)
            x_spatial = self.spatial_gating_unit(x_projected)
            x_projected = self.channel_projection2(x_spatial)
            return x + x_projected

    def make_blocks(dropout_rate):
        return keras.Sequential(
            [gMLPLayer(num_patches, embedding_dim, dropout_rate) for _ in range(num_blocks)]
        )

    return _mlp_image_classification(make_blocks, embedding_dim, num_patches, patch_size)


@model
def vit_object_detector():
    """keras.io vision/object_detection_using_vision_transformer, TF version:
    ``Patches`` reshaping with ``patches.shape[-1]``, ``PatchEncoder`` with tf.range, the
    ViT blocks and a 4-unit bounding-box head; 32x32 images, 8x8 patches."""
    image_size = 32
    patch_size = 8
    input_shape = (image_size, image_size, 3)
    num_patches = (image_size // patch_size) ** 2
    projection_dim = 8
    num_heads = 2
    transformer_units = [projection_dim * 2, projection_dim]
    transformer_layers = 2
    mlp_head_units = [16, 8]

    def mlp(x, hidden_units, dropout_rate):
        for units in hidden_units:
            x = layers.Dense(units, activation=tf.nn.gelu)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    class Patches(layers.Layer):
        def __init__(self, patch_size):
            super().__init__()
            self.patch_size = patch_size

        def call(self, images):
            batch_size = tf.shape(images)[0]
            patches = tf.image.extract_patches(
                images=images,
                sizes=[1, self.patch_size, self.patch_size, 1],
                strides=[1, self.patch_size, self.patch_size, 1],
                rates=[1, 1, 1, 1],
                padding="VALID",
            )
            return tf.reshape(patches, [batch_size, -1, patches.shape[-1]])

    class PatchEncoder(layers.Layer):
        def __init__(self, num_patches, projection_dim):
            super().__init__()
            self.num_patches = num_patches
            self.projection = layers.Dense(units=projection_dim)
            self.position_embedding = layers.Embedding(
                input_dim=num_patches, output_dim=projection_dim
            )

        def call(self, patch):
            positions = tf.range(start=0, limit=self.num_patches, delta=1)
            encoded = self.projection(patch) + self.position_embedding(positions)
            return encoded

    def create_vit_object_detector(input_shape, patch_size, num_patches, projection_dim,
                                   num_heads, transformer_units, transformer_layers,
                                   mlp_head_units):
        inputs = layers.Input(shape=input_shape)
        patches = Patches(patch_size)(inputs)
        encoded_patches = PatchEncoder(num_patches, projection_dim)(patches)
        for _ in range(transformer_layers):
            x1 = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
            attention_output = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=projection_dim, dropout=0.1
            )(x1, x1)
            x2 = layers.Add()([attention_output, encoded_patches])
            x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
            x3 = mlp(x3, hidden_units=transformer_units, dropout_rate=0.1)
            encoded_patches = layers.Add()([x3, x2])
        representation = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
        representation = layers.Flatten()(representation)
        representation = layers.Dropout(0.3)(representation)
        features = mlp(representation, hidden_units=mlp_head_units, dropout_rate=0.3)
        bounding_box = layers.Dense(4)(features)
        return keras.Model(inputs=inputs, outputs=bounding_box)

    return create_vit_object_detector(input_shape, patch_size, num_patches, projection_dim,
                                      num_heads, transformer_units, transformer_layers,
                                      mlp_head_units)


@model
def vit_small_ds():
    """keras.io vision/vit_small_ds (ViT for small datasets), TF version:
    ``ShiftedPatchTokenization`` (tf.image.crop_to_bounding_box / pad_to_bounding_box,
    tf.concat of the four shifted images, tf.image.extract_patches), ``PatchEncoder``
    holding ``tf.range`` positions, ``MultiHeadAttentionLSA`` (a tf.Variable temperature,
    tf.multiply / tf.einsum in ``_compute_attention``) with the ``1 - tf.eye`` diagonal
    mask.  Keras 3 passes ``_compute_attention`` one more positional argument
    (return_attention_scores), so the override takes it; augmentation left out."""
    IMAGE_SIZE = 16
    PATCH_SIZE = 4
    NUM_PATCHES = (IMAGE_SIZE // PATCH_SIZE) ** 2
    LAYER_NORM_EPS = 1e-6
    PROJECTION_DIM = 8
    NUM_HEADS = 2
    TRANSFORMER_UNITS = [PROJECTION_DIM * 2, PROJECTION_DIM]
    TRANSFORMER_LAYERS = 2
    MLP_HEAD_UNITS = [16, 8]
    INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
    NUM_CLASSES = 10

    class ShiftedPatchTokenization(layers.Layer):
        def __init__(self, image_size=IMAGE_SIZE, patch_size=PATCH_SIZE,
                     num_patches=NUM_PATCHES, projection_dim=PROJECTION_DIM, vanilla=False,
                     **kwargs):
            super().__init__(**kwargs)
            self.vanilla = vanilla  # Flag to swtich to vanilla patch extractor
            self.image_size = image_size
            self.patch_size = patch_size
            self.half_patch = patch_size // 2
            self.flatten_patches = layers.Reshape((num_patches, -1))
            self.projection = layers.Dense(units=projection_dim)
            self.layer_norm = layers.LayerNormalization(epsilon=LAYER_NORM_EPS)

        def crop_shift_pad(self, images, mode):
            # Build the diagonally shifted images
            if mode == "left-up":
                crop_height = self.half_patch
                crop_width = self.half_patch
                shift_height = 0
                shift_width = 0
            elif mode == "left-down":
                crop_height = 0
                crop_width = self.half_patch
                shift_height = self.half_patch
                shift_width = 0
            elif mode == "right-up":
                crop_height = self.half_patch
                crop_width = 0
                shift_height = 0
                shift_width = self.half_patch
            else:
                crop_height = 0
                crop_width = 0
                shift_height = self.half_patch
                shift_width = self.half_patch

            # Crop the shifted images and pad them
            crop = tf.image.crop_to_bounding_box(
                images,
                offset_height=crop_height,
                offset_width=crop_width,
                target_height=self.image_size - self.half_patch,
                target_width=self.image_size - self.half_patch,
            )
            shift_pad = tf.image.pad_to_bounding_box(
                crop,
                offset_height=shift_height,
                offset_width=shift_width,
                target_height=self.image_size,
                target_width=self.image_size,
            )
            return shift_pad

        def call(self, images):
            if not self.vanilla:
                # Concat the shifted images with the original image
                images = tf.concat(
                    [
                        images,
                        self.crop_shift_pad(images, mode="left-up"),
                        self.crop_shift_pad(images, mode="left-down"),
                        self.crop_shift_pad(images, mode="right-up"),
                        self.crop_shift_pad(images, mode="right-down"),
                    ],
                    axis=-1,
                )
            # Patchify the images and flatten it
            patches = tf.image.extract_patches(
                images=images,
                sizes=[1, self.patch_size, self.patch_size, 1],
                strides=[1, self.patch_size, self.patch_size, 1],
                rates=[1, 1, 1, 1],
                padding="VALID",
            )
            flat_patches = self.flatten_patches(patches)
            if not self.vanilla:
                # Layer normalize the flat patches and linearly project it
                tokens = self.layer_norm(flat_patches)
                tokens = self.projection(tokens)
            else:
                # Linearly project the flat patches
                tokens = self.projection(flat_patches)
            return (tokens, patches)

    class PatchEncoder(layers.Layer):
        def __init__(self, num_patches=NUM_PATCHES, projection_dim=PROJECTION_DIM, **kwargs):
            super().__init__(**kwargs)
            self.num_patches = num_patches
            self.position_embedding = layers.Embedding(
                input_dim=num_patches, output_dim=projection_dim
            )
            self.positions = tf.range(start=0, limit=self.num_patches, delta=1)

        def call(self, encoded_patches):
            encoded_positions = self.position_embedding(self.positions)
            encoded_patches = encoded_patches + encoded_positions
            return encoded_patches

    class MultiHeadAttentionLSA(tf.keras.layers.MultiHeadAttention):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # The trainable temperature term. The initial value is
            # the square root of the key dimension.
            self.tau = tf.Variable(math.sqrt(float(self._key_dim)), trainable=True)

        def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                               return_attention_scores=False, **kwargs):
            query = tf.multiply(query, 1.0 / self.tau)
            attention_scores = tf.einsum(self._dot_product_equation, key, query)
            attention_scores = self._masked_softmax(attention_scores, attention_mask)
            attention_scores_dropout = self._dropout_layer(attention_scores, training=training)
            attention_output = tf.einsum(
                self._combine_equation, attention_scores_dropout, value
            )
            return attention_output, attention_scores

    def mlp(x, hidden_units, dropout_rate):
        for units in hidden_units:
            x = layers.Dense(units, activation=tf.nn.gelu)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    # Build the diagonal attention mask
    diag_attn_mask = 1 - tf.eye(NUM_PATCHES)
    diag_attn_mask = tf.cast([diag_attn_mask], dtype=tf.int8)

    def create_vit_classifier(vanilla=False):
        inputs = layers.Input(shape=INPUT_SHAPE)
        # Create patches.
        (tokens, _) = ShiftedPatchTokenization(vanilla=vanilla)(inputs)
        # Encode patches.
        encoded_patches = PatchEncoder()(tokens)

        # Create multiple layers of the Transformer block.
        for _ in range(TRANSFORMER_LAYERS):
            # Layer normalization 1.
            x1 = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
            # Create a multi-head attention layer.
            if not vanilla:
                attention_output = MultiHeadAttentionLSA(
                    num_heads=NUM_HEADS, key_dim=PROJECTION_DIM, dropout=0.1
                )(x1, x1, attention_mask=diag_attn_mask)
            else:
                attention_output = layers.MultiHeadAttention(
                    num_heads=NUM_HEADS, key_dim=PROJECTION_DIM, dropout=0.1
                )(x1, x1)
            # Skip connection 1.
            x2 = layers.Add()([attention_output, encoded_patches])
            # Layer normalization 2.
            x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
            # MLP.
            x3 = mlp(x3, hidden_units=TRANSFORMER_UNITS, dropout_rate=0.1)
            # Skip connection 2.
            encoded_patches = layers.Add()([x3, x2])

        # Create a [batch_size, projection_dim] tensor.
        representation = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
        representation = layers.Flatten()(representation)
        representation = layers.Dropout(0.5)(representation)
        # Add MLP.
        features = mlp(representation, hidden_units=MLP_HEAD_UNITS, dropout_rate=0.5)
        # Classify outputs.
        logits = layers.Dense(NUM_CLASSES)(features)
        # Create the Keras model.
        return keras.Model(inputs=inputs, outputs=logits)

    return create_vit_classifier()


@model
def eanet():
    """keras.io vision/eanet (external attention), TF version: ``PatchExtract``
    (tf.image.extract_patches, tf.reshape), ``PatchEmbedding`` (tf.range), and the
    functional ``external_attention`` whose tf.reshape / tf.transpose / tf.reduce_sum on
    functional tensors are wrapped in ``layers.Lambda`` for Keras 3."""
    input_shape = (16, 16, 3)
    num_classes = 10
    patch_size = 4
    num_patches = (input_shape[0] // patch_size) ** 2
    embedding_dim = 8
    mlp_dim = 16
    dim_coefficient = 4
    num_heads = 2
    attention_dropout = 0.2
    projection_dropout = 0.2
    num_transformer_blocks = 2

    class PatchExtract(layers.Layer):
        def __init__(self, patch_size, **kwargs):
            super().__init__(**kwargs)
            self.patch_size = patch_size

        def call(self, images):
            batch_size = tf.shape(images)[0]
            patches = tf.image.extract_patches(
                images=images,
                sizes=(1, self.patch_size, self.patch_size, 1),
                strides=(1, self.patch_size, self.patch_size, 1),
                rates=(1, 1, 1, 1),
                padding="VALID",
            )
            patch_dim = patches.shape[-1]
            patch_num = patches.shape[1]
            return tf.reshape(patches, (batch_size, patch_num * patch_num, patch_dim))

    class PatchEmbedding(layers.Layer):
        def __init__(self, num_patch, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_patch = num_patch
            self.proj = layers.Dense(embed_dim)
            self.pos_embed = layers.Embedding(input_dim=num_patch, output_dim=embed_dim)

        def call(self, patch):
            pos = tf.range(start=0, limit=self.num_patch, delta=1)
            return self.proj(patch) + self.pos_embed(pos)

    def external_attention(x, dim, num_heads, dim_coefficient=4, attention_dropout=0,
                           projection_dropout=0):
        _, num_patch, channel = x.shape
        assert dim % num_heads == 0
        num_heads = num_heads * dim_coefficient

        x = layers.Dense(dim * dim_coefficient)(x)
        # create tensor [batch_size, num_patches, num_heads, dim*dim_coefficient//num_heads]
        x = layers.Lambda(lambda t: tf.reshape(
            t, shape=(-1, num_patch, num_heads, dim * dim_coefficient // num_heads)))(x)
        x = layers.Lambda(lambda t: tf.transpose(t, perm=[0, 2, 1, 3]))(x)
        # a linear layer M_k
        attn = layers.Dense(dim // dim_coefficient)(x)
        # normalize attention map
        attn = layers.Softmax(axis=2)(attn)
        # dobule-normalization
        attn = layers.Lambda(
            lambda a: a / (1e-9 + tf.reduce_sum(a, axis=-1, keepdims=True)))(attn)
        attn = layers.Dropout(attention_dropout)(attn)
        # a linear layer M_v
        x = layers.Dense(dim * dim_coefficient // num_heads)(attn)
        x = layers.Lambda(lambda t: tf.transpose(t, perm=[0, 2, 1, 3]))(x)
        x = layers.Lambda(lambda t: tf.reshape(t, [-1, num_patch, dim * dim_coefficient]))(x)
        # a linear layer to project original dim
        x = layers.Dense(dim)(x)
        x = layers.Dropout(projection_dropout)(x)
        return x

    def mlp(x, embedding_dim, mlp_dim, drop_rate=0.2):
        x = layers.Dense(mlp_dim, activation=tf.nn.gelu)(x)
        x = layers.Dropout(drop_rate)(x)
        x = layers.Dense(embedding_dim)(x)
        x = layers.Dropout(drop_rate)(x)
        return x

    def transformer_encoder(x, embedding_dim, mlp_dim, num_heads, dim_coefficient,
                            attention_dropout, projection_dropout,
                            attention_type="external_attention"):
        residual_1 = x
        x = layers.LayerNormalization(epsilon=1e-5)(x)
        if attention_type == "external_attention":
            x = external_attention(x, embedding_dim, num_heads, dim_coefficient,
                                   attention_dropout, projection_dropout)
        elif attention_type == "self_attention":
            x = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embedding_dim,
                                          dropout=attention_dropout)(x, x)
        x = layers.add([x, residual_1])
        residual_2 = x
        x = layers.LayerNormalization(epsilon=1e-5)(x)
        x = mlp(x, embedding_dim, mlp_dim)
        x = layers.add([x, residual_2])
        return x

    def get_model(attention_type="external_attention"):
        inputs = layers.Input(shape=input_shape)
        x = PatchExtract(patch_size)(inputs)
        x = PatchEmbedding(num_patches, embedding_dim)(x)
        for _ in range(num_transformer_blocks):
            x = transformer_encoder(x, embedding_dim, mlp_dim, num_heads, dim_coefficient,
                                    attention_dropout, projection_dropout, attention_type)
        x = layers.GlobalAvgPool1D()(x)
        outputs = layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    return get_model(attention_type="external_attention")


@model
def cct():
    """keras.io vision/cct (Compact Convolutional Transformer), TF version:
    ``CCTTokenizer`` (conv stack, then tf.reshape with tf.shape products),
    ``positional_embedding`` calling the tokenizer on tf.ones to size an Embedding, whose
    output for tf.range positions is added to the tokens as the example did (Keras 3
    needs ``int`` for the Embedding's input_dim); ``StochasticDepth`` (identity at
    inference) and SeqPool (tf.nn.softmax, tf.matmul(transpose_a=True), tf.squeeze, in
    ``layers.Lambda`` for Keras 3); augmentation left out."""
    positional_emb = True
    conv_layers = 2
    projection_dim = 16
    num_heads = 2
    transformer_units = [projection_dim, projection_dim]
    transformer_layers = 2
    stochastic_depth_rate = 0.1
    image_size = 16
    input_shape = (16, 16, 3)
    num_classes = 10

    class CCTTokenizer(layers.Layer):
        def __init__(self, kernel_size=3, stride=1, padding=1, pooling_kernel_size=3,
                     pooling_stride=2, num_conv_layers=conv_layers,
                     num_output_channels=[8, projection_dim], positional_emb=positional_emb,
                     **kwargs):
            super().__init__(**kwargs)
            # This is our tokenizer.
            self.conv_model = keras.Sequential()
            for i in range(num_conv_layers):
                self.conv_model.add(
                    layers.Conv2D(
                        num_output_channels[i],
                        kernel_size,
                        stride,
                        padding="valid",
                        use_bias=False,
                        activation="relu",
                        kernel_initializer="he_normal",
                    )
                )
                self.conv_model.add(layers.ZeroPadding2D(padding))
                self.conv_model.add(
                    layers.MaxPool2D(pooling_kernel_size, pooling_stride, "same")
                )
            self.positional_emb = positional_emb

        def call(self, images):
            outputs = self.conv_model(images)
            # After passing the images through our mini-network the spatial dimensions
            # are flattened to form sequences.
            reshaped = tf.reshape(
                outputs,
                (-1, tf.shape(outputs)[1] * tf.shape(outputs)[2], tf.shape(outputs)[-1]),
            )
            return reshaped

        def positional_embedding(self, image_size):
            # Positional embeddings are optional in CCT. Here, we calculate
            # the number of sequences and initialize an `Embedding` layer to
            # compute the positional embeddings later.
            if self.positional_emb:
                dummy_inputs = tf.ones((1, image_size, image_size, 3))
                dummy_outputs = self.call(dummy_inputs)
                sequence_length = tf.shape(dummy_outputs)[1]
                projection_dim = tf.shape(dummy_outputs)[-1]

                embed_layer = layers.Embedding(
                    input_dim=int(sequence_length), output_dim=int(projection_dim)
                )
                return embed_layer, sequence_length
            else:
                return None

    class StochasticDepth(layers.Layer):
        def __init__(self, drop_prop, **kwargs):
            super().__init__(**kwargs)
            self.drop_prob = drop_prop

        def call(self, x, training=None):
            if training:
                keep_prob = 1 - self.drop_prob
                shape = (tf.shape(x)[0],) + (1,) * (len(tf.shape(x)) - 1)
                random_tensor = keep_prob + tf.random.uniform(shape, 0, 1)
                random_tensor = tf.floor(random_tensor)
                return (x / keep_prob) * random_tensor
            return x

    def mlp(x, hidden_units, dropout_rate):
        for units in hidden_units:
            x = layers.Dense(units, activation=tf.nn.gelu)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    def create_cct_model(image_size=image_size, input_shape=input_shape,
                         num_heads=num_heads, projection_dim=projection_dim,
                         transformer_units=transformer_units):
        inputs = layers.Input(input_shape)

        # Encode patches.
        cct_tokenizer = CCTTokenizer()
        encoded_patches = cct_tokenizer(inputs)

        # Apply positional embedding.
        if positional_emb:
            pos_embed, seq_length = cct_tokenizer.positional_embedding(image_size)
            positions = tf.range(start=0, limit=seq_length, delta=1)
            position_embeddings = pos_embed(positions)
            encoded_patches += position_embeddings

        # Calculate Stochastic Depth probabilities.
        dpr = [x for x in np.linspace(0, stochastic_depth_rate, transformer_layers)]

        # Create multiple layers of the Transformer block.
        for i in range(transformer_layers):
            # Layer normalization 1.
            x1 = layers.LayerNormalization(epsilon=1e-5)(encoded_patches)

            # Create a multi-head attention layer.
            attention_output = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=projection_dim, dropout=0.1
            )(x1, x1)

            # Skip connection 1.
            attention_output = StochasticDepth(dpr[i])(attention_output)
            x2 = layers.Add()([attention_output, encoded_patches])

            # Layer normalization 2.
            x3 = layers.LayerNormalization(epsilon=1e-5)(x2)

            # MLP.
            x3 = mlp(x3, hidden_units=transformer_units, dropout_rate=0.1)

            # Skip connection 2.
            x3 = StochasticDepth(dpr[i])(x3)
            encoded_patches = layers.Add()([x3, x2])

        # Apply sequence pooling.
        representation = layers.LayerNormalization(epsilon=1e-5)(encoded_patches)
        attention_weights = layers.Lambda(lambda t: tf.nn.softmax(t, axis=1))(
            layers.Dense(1)(representation))
        weighted_representation = layers.Lambda(
            lambda ts: tf.matmul(ts[0], ts[1], transpose_a=True))(
            [attention_weights, representation])
        weighted_representation = layers.Lambda(lambda t: tf.squeeze(t, -2))(
            weighted_representation)

        # Classify outputs.
        logits = layers.Dense(num_classes)(weighted_representation)
        # Create the Keras model.
        return keras.Model(inputs=inputs, outputs=logits)

    return create_cct_model()


@model
def swin_transformer():
    """keras.io vision/swin_transformers, TF version: ``window_partition`` /
    ``window_reverse`` (tf.reshape, tf.transpose), ``WindowAttention`` (relative position
    bias gathered with tf.gather from a table by an index held in a tf.Variable, the
    shifted-window mask added through tf.reshape), ``SwinTransformer`` (tf.roll, the
    attention mask built in ``build`` with tf.where into a tf.Variable), ``PatchExtract``
    (tf.image.extract_patches), ``PatchEmbedding`` (tf.range), ``PatchMerging`` (strided
    slices, tf.concat).  dropout_rate 0 so ``drop_path`` is tf.identity (the example's
    DropPath draws at inference too); the bias table starts random, not zeros; the
    random crop / flip left out; the index tf.Variable is created under tf.init_scope()
    (Keras 3 builds WindowAttention while tracing SwinTransformer.call); 16x16 images,
    2x2 patches, 2x2 windows, shift 1."""
    patch_size = (2, 2)
    dropout_rate = 0.0
    num_heads = 2
    embed_dim = 8
    num_mlp = 16
    qkv_bias = True
    window_size = 2
    shift_size = 1
    image_dimension = 16
    num_patch_x = image_dimension // patch_size[0]
    num_patch_y = image_dimension // patch_size[1]
    input_shape = (image_dimension, image_dimension, 3)
    num_classes = 10

    def window_partition(x, window_size):
        _, height, width, channels = x.shape
        patch_num_y = height // window_size
        patch_num_x = width // window_size
        x = tf.reshape(
            x, shape=(-1, patch_num_y, window_size, patch_num_x, window_size, channels)
        )
        x = tf.transpose(x, (0, 1, 3, 2, 4, 5))
        windows = tf.reshape(x, shape=(-1, window_size, window_size, channels))
        return windows

    def window_reverse(windows, window_size, height, width, channels):
        patch_num_y = height // window_size
        patch_num_x = width // window_size
        x = tf.reshape(
            windows,
            shape=(-1, patch_num_y, patch_num_x, window_size, window_size, channels),
        )
        x = tf.transpose(x, perm=(0, 1, 3, 2, 4, 5))
        x = tf.reshape(x, shape=(-1, height, width, channels))
        return x

    class DropPath(layers.Layer):
        def __init__(self, drop_prob=None, **kwargs):
            super().__init__(**kwargs)
            self.drop_prob = drop_prob

        def call(self, x):
            input_shape = tf.shape(x)
            batch_size = input_shape[0]
            rank = x.shape.rank
            shape = (batch_size,) + (1,) * (rank - 1)
            random_tensor = (1 - self.drop_prob) + tf.random.uniform(shape, dtype=x.dtype)
            path_mask = tf.floor(random_tensor)
            output = tf.math.divide(x, 1 - self.drop_prob) * path_mask
            return output

    class WindowAttention(layers.Layer):
        def __init__(self, dim, window_size, num_heads, qkv_bias=True, dropout_rate=0.0,
                     **kwargs):
            super().__init__(**kwargs)
            self.dim = dim
            self.window_size = window_size
            self.num_heads = num_heads
            self.scale = (dim // num_heads) ** -0.5
            self.qkv = layers.Dense(dim * 3, use_bias=qkv_bias)
            self.dropout = layers.Dropout(dropout_rate)
            self.proj = layers.Dense(dim)

        def build(self, input_shape):
            num_window_elements = (2 * self.window_size[0] - 1) * (
                2 * self.window_size[1] - 1
            )
            self.relative_position_bias_table = self.add_weight(
                shape=(num_window_elements, self.num_heads),
                initializer="random_normal",
                trainable=True,
            )
            coords_h = np.arange(self.window_size[0])
            coords_w = np.arange(self.window_size[1])
            coords_matrix = np.meshgrid(coords_h, coords_w, indexing="ij")
            coords = np.stack(coords_matrix)
            coords_flatten = coords.reshape(2, -1)
            relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
            relative_coords = relative_coords.transpose([1, 2, 0])
            relative_coords[:, :, 0] += self.window_size[0] - 1
            relative_coords[:, :, 1] += self.window_size[1] - 1
            relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
            relative_position_index = relative_coords.sum(-1)

            with tf.init_scope():  # Keras 3 builds this layer while tracing its parent
                self.relative_position_index = tf.Variable(
                    initial_value=tf.convert_to_tensor(relative_position_index),
                    trainable=False,
                )

        def call(self, x, mask=None):
            _, size, channels = x.shape
            head_dim = channels // self.num_heads
            x_qkv = self.qkv(x)
            x_qkv = tf.reshape(x_qkv, shape=(-1, size, 3, self.num_heads, head_dim))
            x_qkv = tf.transpose(x_qkv, perm=(2, 0, 3, 1, 4))
            q, k, v = x_qkv[0], x_qkv[1], x_qkv[2]
            q = q * self.scale
            k = tf.transpose(k, perm=(0, 1, 3, 2))
            attn = q @ k

            num_window_elements = self.window_size[0] * self.window_size[1]
            relative_position_index_flat = tf.reshape(
                self.relative_position_index, shape=(-1,)
            )
            relative_position_bias = tf.gather(
                self.relative_position_bias_table, relative_position_index_flat
            )
            relative_position_bias = tf.reshape(
                relative_position_bias,
                shape=(num_window_elements, num_window_elements, -1),
            )
            relative_position_bias = tf.transpose(relative_position_bias, perm=(2, 0, 1))
            attn = attn + tf.expand_dims(relative_position_bias, axis=0)

            if mask is not None:
                nW = mask.get_shape()[0]
                mask_float = tf.cast(
                    tf.expand_dims(tf.expand_dims(mask, axis=1), axis=0), tf.float32
                )
                attn = (
                    tf.reshape(attn, shape=(-1, nW, self.num_heads, size, size))
                    + mask_float
                )
                attn = tf.reshape(attn, shape=(-1, self.num_heads, size, size))
                attn = keras.activations.softmax(attn, axis=-1)
            else:
                attn = keras.activations.softmax(attn, axis=-1)
            attn = self.dropout(attn)

            x_qkv = attn @ v
            x_qkv = tf.transpose(x_qkv, perm=(0, 2, 1, 3))
            x_qkv = tf.reshape(x_qkv, shape=(-1, size, channels))
            x_qkv = self.proj(x_qkv)
            x_qkv = self.dropout(x_qkv)
            return x_qkv

    class SwinTransformer(layers.Layer):
        def __init__(self, dim, num_patch, num_heads, window_size=7, shift_size=0,
                     num_mlp=1024, qkv_bias=True, dropout_rate=0.0, **kwargs):
            super().__init__(**kwargs)

            self.dim = dim  # number of input dimensions
            self.num_patch = num_patch  # number of embedded patches
            self.num_heads = num_heads  # number of attention heads
            self.window_size = window_size  # size of window
            self.shift_size = shift_size  # size of window shift
            self.num_mlp = num_mlp  # number of MLP nodes

            self.norm1 = layers.LayerNormalization(epsilon=1e-5)
            self.attn = WindowAttention(
                dim,
                window_size=(self.window_size, self.window_size),
                num_heads=num_heads,
                qkv_bias=qkv_bias,
                dropout_rate=dropout_rate,
            )
            self.drop_path = DropPath(dropout_rate) if dropout_rate > 0.0 else tf.identity
            self.norm2 = layers.LayerNormalization(epsilon=1e-5)

            self.mlp = keras.Sequential(
                [
                    layers.Dense(num_mlp),
                    layers.Activation(keras.activations.gelu),
                    layers.Dropout(dropout_rate),
                    layers.Dense(dim),
                    layers.Dropout(dropout_rate),
                ]
            )

            if min(self.num_patch) < self.window_size:
                self.shift_size = 0
                self.window_size = min(self.num_patch)

        def build(self, input_shape):
            if self.shift_size == 0:
                self.attn_mask = None
            else:
                height, width = self.num_patch
                h_slices = (
                    slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None),
                )
                w_slices = (
                    slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None),
                )
                mask_array = np.zeros((1, height, width, 1))
                count = 0
                for h in h_slices:
                    for w in w_slices:
                        mask_array[:, h, w, :] = count
                        count += 1
                mask_array = tf.convert_to_tensor(mask_array)

                # mask array to windows
                mask_windows = window_partition(mask_array, self.window_size)
                mask_windows = tf.reshape(
                    mask_windows, shape=[-1, self.window_size * self.window_size]
                )
                attn_mask = tf.expand_dims(mask_windows, axis=1) - tf.expand_dims(
                    mask_windows, axis=2
                )
                attn_mask = tf.where(attn_mask != 0, -100.0, attn_mask)
                attn_mask = tf.where(attn_mask == 0, 0.0, attn_mask)
                self.attn_mask = tf.Variable(initial_value=attn_mask, trainable=False)

        def call(self, x):
            height, width = self.num_patch
            _, num_patches_before, channels = x.shape
            x_skip = x
            x = self.norm1(x)
            x = tf.reshape(x, shape=(-1, height, width, channels))
            if self.shift_size > 0:
                shifted_x = tf.roll(
                    x, shift=[-self.shift_size, -self.shift_size], axis=[1, 2]
                )
            else:
                shifted_x = x

            x_windows = window_partition(shifted_x, self.window_size)
            x_windows = tf.reshape(
                x_windows, shape=(-1, self.window_size * self.window_size, channels)
            )
            attn_windows = self.attn(x_windows, mask=self.attn_mask)

            attn_windows = tf.reshape(
                attn_windows, shape=(-1, self.window_size, self.window_size, channels)
            )
            shifted_x = window_reverse(
                attn_windows, self.window_size, height, width, channels
            )
            if self.shift_size > 0:
                x = tf.roll(
                    shifted_x, shift=[self.shift_size, self.shift_size], axis=[1, 2]
                )
            else:
                x = shifted_x

            x = tf.reshape(x, shape=(-1, height * width, channels))
            x = self.drop_path(x)
            x = x_skip + x
            x_skip = x
            x = self.norm2(x)
            x = self.mlp(x)
            x = self.drop_path(x)
            x = x_skip + x
            return x

    class PatchExtract(layers.Layer):
        def __init__(self, patch_size, **kwargs):
            super().__init__(**kwargs)
            self.patch_size_x = patch_size[0]
            self.patch_size_y = patch_size[0]

        def call(self, images):
            batch_size = tf.shape(images)[0]
            patches = tf.image.extract_patches(
                images=images,
                sizes=(1, self.patch_size_x, self.patch_size_y, 1),
                strides=(1, self.patch_size_x, self.patch_size_y, 1),
                rates=(1, 1, 1, 1),
                padding="VALID",
            )
            patch_dim = patches.shape[-1]
            patch_num = patches.shape[1]
            return tf.reshape(patches, (batch_size, patch_num * patch_num, patch_dim))

    class PatchEmbedding(layers.Layer):
        def __init__(self, num_patch, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_patch = num_patch
            self.proj = layers.Dense(embed_dim)
            self.pos_embed = layers.Embedding(input_dim=num_patch, output_dim=embed_dim)

        def call(self, patch):
            pos = tf.range(start=0, limit=self.num_patch, delta=1)
            return self.proj(patch) + self.pos_embed(pos)

    class PatchMerging(tf.keras.layers.Layer):
        def __init__(self, num_patch, embed_dim):
            super().__init__()
            self.num_patch = num_patch
            self.embed_dim = embed_dim
            self.linear_trans = layers.Dense(2 * embed_dim, use_bias=False)

        def call(self, x):
            height, width = self.num_patch
            _, _, C = x.get_shape().as_list()
            x = tf.reshape(x, shape=(-1, height, width, C))
            x0 = x[:, 0::2, 0::2, :]
            x1 = x[:, 1::2, 0::2, :]
            x2 = x[:, 0::2, 1::2, :]
            x3 = x[:, 1::2, 1::2, :]
            x = tf.concat((x0, x1, x2, x3), axis=-1)
            x = tf.reshape(x, shape=(-1, (height // 2) * (width // 2), 4 * C))
            return self.linear_trans(x)

    input = layers.Input(input_shape)
    x = PatchExtract(patch_size)(input)
    x = PatchEmbedding(num_patch_x * num_patch_y, embed_dim)(x)
    x = SwinTransformer(
        dim=embed_dim,
        num_patch=(num_patch_x, num_patch_y),
        num_heads=num_heads,
        window_size=window_size,
        shift_size=0,
        num_mlp=num_mlp,
        qkv_bias=qkv_bias,
        dropout_rate=dropout_rate,
    )(x)
    x = SwinTransformer(
        dim=embed_dim,
        num_patch=(num_patch_x, num_patch_y),
        num_heads=num_heads,
        window_size=window_size,
        shift_size=shift_size,
        num_mlp=num_mlp,
        qkv_bias=qkv_bias,
        dropout_rate=dropout_rate,
    )(x)
    x = PatchMerging((num_patch_x, num_patch_y), embed_dim=embed_dim)(x)
    x = layers.GlobalAveragePooling1D()(x)
    output = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(input, output)


@model
def token_learner():
    """keras.io vision/token_learner, TF version: ``position_embedding`` adding an
    Embedding of tf.range positions (computed once, as the example did), ViT blocks with
    Dense(activation=tf.nn.gelu), and ``token_learner`` (Conv2D stack with tf.nn.gelu,
    ``attention_maps[..., tf.newaxis] * inputs``, tf.reduce_mean over the pixels, the
    latter in ``layers.Lambda`` for Keras 3) after the first block; augmentation left
    out."""
    INPUT_SHAPE = (16, 16, 3)
    NUM_CLASSES = 10
    PATCH_SIZE = 4
    NUM_PATCHES = (INPUT_SHAPE[0] // PATCH_SIZE) ** 2
    LAYER_NORM_EPS = 1e-6
    PROJECTION_DIM = 8
    NUM_HEADS = 2
    NUM_LAYERS = 2
    MLP_UNITS = [PROJECTION_DIM * 2, PROJECTION_DIM]
    NUM_TOKENS = 4
    DROPOUT_RATE = 0.1

    def position_embedding(projected_patches, num_patches=NUM_PATCHES,
                           projection_dim=PROJECTION_DIM):
        # Build the positions.
        positions = tf.range(start=0, limit=num_patches, delta=1)
        # Encode the positions with an Embedding layer.
        encoded_positions = layers.Embedding(
            input_dim=num_patches, output_dim=projection_dim
        )(positions)
        # Add encoded positions to the projected patches.
        return projected_patches + encoded_positions

    def mlp(x, dropout_rate, hidden_units):
        # Iterate over the hidden units and
        # add Dense => Dropout.
        for (idx, units) in enumerate(hidden_units):
            x = layers.Dense(units, activation=tf.nn.gelu if idx == 0 else None)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    def token_learner(inputs, number_of_tokens=NUM_TOKENS):
        # Layer normalize the inputs.
        x = layers.LayerNormalization(epsilon=LAYER_NORM_EPS)(inputs)  # (B, H, W, C)
        # Applying Conv2D => Reshape => Permute
        # The reshape and permute is done to help with the next steps of
        # multiplication and Global Average Pooling.
        attention_maps = keras.Sequential(
            [
                # 3 layers of conv with gelu activation as suggested
                # in the paper.
                layers.Conv2D(filters=number_of_tokens, kernel_size=(3, 3),
                              activation=tf.nn.gelu, padding="same", use_bias=False),
                layers.Conv2D(filters=number_of_tokens, kernel_size=(3, 3),
                              activation=tf.nn.gelu, padding="same", use_bias=False),
                layers.Conv2D(filters=number_of_tokens, kernel_size=(3, 3),
                              activation=tf.nn.gelu, padding="same", use_bias=False),
                # This conv layer will generate the attention maps
                layers.Conv2D(filters=number_of_tokens, kernel_size=(3, 3),
                              activation="sigmoid",  # Note sigmoid for [0, 1] output
                              padding="same", use_bias=False),
                # Reshape and Permute
                layers.Reshape((-1, number_of_tokens)),  # (B, h*w, num_of_tokens)
                layers.Permute((2, 1)),
            ]
        )(x)  # (B, num_of_tokens, h*w)

        # Reshape the input to align it with the output of the conv block.
        num_filters = inputs.shape[-1]
        inputs = layers.Reshape((1, -1, num_filters))(inputs)  # inputs == (B, 1, h*w, C)

        # Element-Wise multiplication of the attention maps and the inputs
        attended_inputs = (
            attention_maps[..., tf.newaxis] * inputs
        )  # (B, num_tokens, h*w, C)

        # Global average pooling the element wise multiplication result.
        outputs = layers.Lambda(lambda t: tf.reduce_mean(t, axis=2))(
            attended_inputs)  # (B, num_tokens, C)
        return outputs

    def transformer(encoded_patches):
        # Layer normalization 1.
        x1 = layers.LayerNormalization(epsilon=LAYER_NORM_EPS)(encoded_patches)
        # Multi Head Self Attention layer 1.
        attention_output = layers.MultiHeadAttention(
            num_heads=NUM_HEADS, key_dim=PROJECTION_DIM, dropout=DROPOUT_RATE
        )(x1, x1)
        # Skip connection 1.
        x2 = layers.Add()([attention_output, encoded_patches])
        # Layer normalization 2.
        x3 = layers.LayerNormalization(epsilon=LAYER_NORM_EPS)(x2)
        # MLP layer 1.
        x4 = mlp(x3, hidden_units=MLP_UNITS, dropout_rate=DROPOUT_RATE)
        # Skip connection 2.
        encoded_patches = layers.Add()([x4, x2])
        return encoded_patches

    def create_vit_classifier(use_token_learner=True, token_learner_units=NUM_TOKENS):
        inputs = layers.Input(shape=INPUT_SHAPE)  # (B, H, W, C)
        # Create patches and project the pathces.
        projected_patches = layers.Conv2D(
            filters=PROJECTION_DIM,
            kernel_size=(PATCH_SIZE, PATCH_SIZE),
            strides=(PATCH_SIZE, PATCH_SIZE),
            padding="VALID",
        )(inputs)
        _, h, w, c = projected_patches.shape
        projected_patches = layers.Reshape((h * w, c))(
            projected_patches
        )  # (B, number_patches, projection_dim)
        # Add positional embeddings to the projected patches.
        encoded_patches = position_embedding(
            projected_patches
        )  # (B, number_patches, projection_dim)
        encoded_patches = layers.Dropout(0.1)(encoded_patches)
        # Iterate over the number of layers and stack up blocks of
        # Transformer.
        for i in range(NUM_LAYERS):
            # Add a Transformer block.
            encoded_patches = transformer(encoded_patches)
            # Add TokenLearner layer in the middle of the
            # architecture. The paper suggests that anywhere
            # between 1/2 or 3/4 will work well.
            if use_token_learner and i == NUM_LAYERS // 2:
                _, hh, c = encoded_patches.shape
                h = int(math.sqrt(hh))
                encoded_patches = layers.Reshape((h, h, c))(
                    encoded_patches
                )  # (B, h, h, projection_dim)
                encoded_patches = token_learner(
                    encoded_patches, token_learner_units
                )  # (B, num_tokens, c)
        # Layer normalization and Global average pooling.
        representation = layers.LayerNormalization(epsilon=LAYER_NORM_EPS)(encoded_patches)
        representation = layers.GlobalAvgPool1D()(representation)
        # Classify outputs.
        outputs = layers.Dense(NUM_CLASSES, activation="softmax")(representation)
        # Create the Keras model.
        return keras.Model(inputs=inputs, outputs=outputs)

    return create_vit_classifier()


@model
def shiftvit():
    """keras.io vision/shiftvit, TF version: the subclassed ``ShiftViTModel`` with
    ``StackedShiftBlocks`` of ``ShiftViTBlock`` (tf.split of the channels,
    tf.image.crop_to_bounding_box / pad_to_bounding_box shifts, tf.concat), ``MLP`` built
    in ``build`` with Dense(activation=tf.nn.gelu), ``DropPath`` (identity at inference),
    ``PatchMerging``; augmentation reduced to a fixed Normalization (built before the
    model, since Keras 3 cannot build it inside the model's trace); 16x16 images,
    2x2 patches, stages [2, 1]."""
    class MLP(layers.Layer):
        def __init__(self, mlp_expand_ratio, mlp_dropout_rate, **kwargs):
            super().__init__(**kwargs)
            self.mlp_expand_ratio = mlp_expand_ratio
            self.mlp_dropout_rate = mlp_dropout_rate

        def build(self, input_shape):
            input_channels = input_shape[-1]
            initial_filters = int(self.mlp_expand_ratio * input_channels)

            self.mlp = keras.Sequential(
                [
                    layers.Dense(units=initial_filters, activation=tf.nn.gelu),
                    layers.Dropout(rate=self.mlp_dropout_rate),
                    layers.Dense(units=input_channels),
                    layers.Dropout(rate=self.mlp_dropout_rate),
                ]
            )

        def call(self, x):
            x = self.mlp(x)
            return x

    class DropPath(layers.Layer):
        def __init__(self, drop_path_prob, **kwargs):
            super().__init__(**kwargs)
            self.drop_path_prob = drop_path_prob

        def call(self, x, training=False):
            if training:
                keep_prob = 1 - self.drop_path_prob
                shape = (tf.shape(x)[0],) + (1,) * (len(tf.shape(x)) - 1)
                random_tensor = keep_prob + tf.random.uniform(shape, 0, 1)
                random_tensor = tf.floor(random_tensor)
                return (x / keep_prob) * random_tensor
            return x

    class ShiftViTBlock(layers.Layer):
        def __init__(self, epsilon, drop_path_prob, mlp_dropout_rate, num_div=12,
                     shift_pixel=1, mlp_expand_ratio=2, **kwargs):
            super().__init__(**kwargs)
            self.shift_pixel = shift_pixel
            self.mlp_expand_ratio = mlp_expand_ratio
            self.mlp_dropout_rate = mlp_dropout_rate
            self.num_div = num_div
            self.epsilon = epsilon
            self.drop_path_prob = drop_path_prob

        def build(self, input_shape):
            self.H = input_shape[1]
            self.W = input_shape[2]
            self.C = input_shape[3]
            self.layer_norm = layers.LayerNormalization(epsilon=self.epsilon)
            self.drop_path = (
                DropPath(drop_path_prob=self.drop_path_prob)
                if self.drop_path_prob > 0.0
                else layers.Activation("linear")
            )
            self.mlp = MLP(
                mlp_expand_ratio=self.mlp_expand_ratio,
                mlp_dropout_rate=self.mlp_dropout_rate,
            )

        def get_shift_pad(self, x, mode):
            """Shifts the channels according to the mode chosen."""
            if mode == "left":
                offset_height = 0
                offset_width = 0
                target_height = 0
                target_width = self.shift_pixel
            elif mode == "right":
                offset_height = 0
                offset_width = self.shift_pixel
                target_height = 0
                target_width = self.shift_pixel
            elif mode == "up":
                offset_height = 0
                offset_width = 0
                target_height = self.shift_pixel
                target_width = 0
            else:
                offset_height = self.shift_pixel
                offset_width = 0
                target_height = self.shift_pixel
                target_width = 0
            crop = tf.image.crop_to_bounding_box(
                x,
                offset_height=offset_height,
                offset_width=offset_width,
                target_height=self.H - target_height,
                target_width=self.W - target_width,
            )
            shift_pad = tf.image.pad_to_bounding_box(
                crop,
                offset_height=offset_height,
                offset_width=offset_width,
                target_height=self.H,
                target_width=self.W,
            )
            return shift_pad

        def call(self, x, training=False):
            # Split the feature maps
            x_splits = tf.split(x, num_or_size_splits=self.C // self.num_div, axis=-1)

            # Shift the feature maps
            x_splits[0] = self.get_shift_pad(x_splits[0], mode="left")
            x_splits[1] = self.get_shift_pad(x_splits[1], mode="right")
            x_splits[2] = self.get_shift_pad(x_splits[2], mode="up")
            x_splits[3] = self.get_shift_pad(x_splits[3], mode="down")

            # Concatenate the shifted and unshifted feature maps
            x = tf.concat(x_splits, axis=-1)

            # Add the residual connection
            shortcut = x
            x = shortcut + self.drop_path(self.mlp(self.layer_norm(x)), training=training)
            return x

    class PatchMerging(layers.Layer):
        def __init__(self, epsilon, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = epsilon

        def build(self, input_shape):
            filters = 2 * input_shape[-1]
            self.reduction = layers.Conv2D(
                filters=filters, kernel_size=2, strides=2, padding="same", use_bias=False
            )
            self.layer_norm = layers.LayerNormalization(epsilon=self.epsilon)

        def call(self, x):
            # Apply the patch merging algorithm on the feature maps
            x = self.layer_norm(x)
            x = self.reduction(x)
            return x

    class StackedShiftBlocks(layers.Layer):
        def __init__(self, epsilon, mlp_dropout_rate, num_shift_blocks,
                     stochastic_depth_rate, is_merge, num_div=12, shift_pixel=1,
                     mlp_expand_ratio=2, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = epsilon
            self.mlp_dropout_rate = mlp_dropout_rate
            self.num_shift_blocks = num_shift_blocks
            self.stochastic_depth_rate = stochastic_depth_rate
            self.is_merge = is_merge
            self.num_div = num_div
            self.shift_pixel = shift_pixel
            self.mlp_expand_ratio = mlp_expand_ratio

        def build(self, input_shapes):
            # Calculate stochastic depth probabilities.
            # Reference: https://keras.io/examples/vision/cct/#the-final-cct-model
            dpr = [
                x
                for x in np.linspace(
                    start=0, stop=self.stochastic_depth_rate, num=self.num_shift_blocks
                )
            ]

            # Build the shift blocks as a list of ShiftViT Blocks
            self.shift_blocks = list()
            for num in range(self.num_shift_blocks):
                self.shift_blocks.append(
                    ShiftViTBlock(
                        num_div=self.num_div,
                        epsilon=self.epsilon,
                        drop_path_prob=dpr[num],
                        mlp_dropout_rate=self.mlp_dropout_rate,
                        shift_pixel=self.shift_pixel,
                        mlp_expand_ratio=self.mlp_expand_ratio,
                    )
                )
            if self.is_merge:
                self.patch_merge = PatchMerging(epsilon=self.epsilon)

        def call(self, x, training=False):
            for shift_block in self.shift_blocks:
                x = shift_block(x, training=training)
            if self.is_merge:
                x = self.patch_merge(x)
            return x

    class ShiftViTModel(keras.Model):
        def __init__(self, data_augmentation, projected_dim, patch_size,
                     num_shift_blocks_per_stages, epsilon, mlp_dropout_rate,
                     stochastic_depth_rate, num_div=12, shift_pixel=1, mlp_expand_ratio=2,
                     num_classes=10, **kwargs):
            super().__init__(**kwargs)
            self.data_augmentation = data_augmentation
            self.patch_projection = layers.Conv2D(
                filters=projected_dim,
                kernel_size=patch_size,
                strides=patch_size,
                padding="same",
            )
            self.stages = list()
            for index, num_shift_blocks in enumerate(num_shift_blocks_per_stages):
                if index == len(num_shift_blocks_per_stages) - 1:
                    # This is the last stage, do not use the patch merge here.
                    is_merge = False
                else:
                    is_merge = True
                # Build the stages.
                self.stages.append(
                    StackedShiftBlocks(
                        epsilon=epsilon,
                        mlp_dropout_rate=mlp_dropout_rate,
                        num_shift_blocks=num_shift_blocks,
                        stochastic_depth_rate=stochastic_depth_rate,
                        is_merge=is_merge,
                        num_div=num_div,
                        shift_pixel=shift_pixel,
                        mlp_expand_ratio=mlp_expand_ratio,
                    )
                )
            self.global_avg_pool = layers.GlobalAveragePooling2D()
            self.classifier = layers.Dense(num_classes)

        def call(self, images):
            augmented_images = self.data_augmentation(images)
            x = self.patch_projection(augmented_images)
            for stage in self.stages:
                x = stage(x, training=False)
            x = self.global_avg_pool(x)
            logits = self.classifier(x)
            return logits

    data_augmentation = keras.Sequential(
        [layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.25, 0.2, 0.3])],
        name="data_augmentation",
    )
    data_augmentation.build((None, 16, 16, 3))  # Keras 3: not inside the model's trace
    m = ShiftViTModel(
        data_augmentation=data_augmentation,
        projected_dim=16,
        patch_size=2,
        num_shift_blocks_per_stages=[2, 1],
        epsilon=1e-5,
        mlp_dropout_rate=0.2,
        stochastic_depth_rate=0.2,
        num_div=2,
        shift_pixel=1,
        mlp_expand_ratio=2,
    )
    m(np.zeros((1, 16, 16, 3), "float32"))
    m.probe_specs = [((16, 16, 3), "float32")]
    return m


@model
def patch_convnet():
    """keras.io vision/patch_convnet (Augmenting convnets with aggregated attention), TF
    version: ``build_convolutional_stem``, ``Trunk`` of ``SqueezeExcite`` blocks built in
    ``build``, ``AttentionPooling`` with a tf.Variable class token tf.repeat-ed over
    tf.shape(x)[0] and tf.concat-ed, a one-query MultiHeadAttention returning its
    scores, tf.squeeze of the scores; the subclassed ``PatchConvNet``.  The flattening of
    the feature map to a sequence (tf.reshape) is put at the top of AttentionPooling as
    remembered; the preprocessing model is Rescaling + Resizing 32 -> 16; the training
    augmentation model left out."""
    IMAGE_SIZE = 16
    DIMENSIONS = 8
    SE_RATIO = 4
    TRUNK_DEPTH = 1
    NUM_CLASSES = 10

    def build_convolutional_stem(dimensions):
        config = {
            "kernel_size": (3, 3),
            "strides": (2, 2),
            "activation": keras.activations.gelu,
            "padding": "same",
        }
        convolutional_stem = keras.Sequential(
            [
                layers.Conv2D(filters=dimensions // 2, **config),
                layers.Conv2D(filters=dimensions, **config),
            ],
            name="convolutional_stem",
        )
        return convolutional_stem

    class SqueezeExcite(layers.Layer):
        def __init__(self, ratio, **kwargs):
            super().__init__(**kwargs)
            self.ratio = ratio

        def build(self, input_shape):
            filters = input_shape[-1]
            self.squeeze = layers.GlobalAveragePooling2D(keepdims=True)
            self.reduction = layers.Dense(
                units=filters // self.ratio, activation="relu", use_bias=False
            )
            self.excite = layers.Dense(units=filters, activation="sigmoid", use_bias=False)
            self.multiply = layers.Multiply()

        def call(self, x):
            shortcut = x
            x = self.squeeze(x)
            x = self.reduction(x)
            x = self.excite(x)
            x = self.multiply([shortcut, x])
            return x

    class Trunk(layers.Layer):
        def __init__(self, depth, dimensions, ratio, **kwargs):
            super().__init__(**kwargs)
            self.ratio = ratio
            self.dimensions = dimensions
            self.depth = depth

        def build(self, input_shape):
            config = {
                "filters": self.dimensions,
                "activation": keras.activations.gelu,
                "padding": "same",
            }
            trunk_block = [
                layers.LayerNormalization(epsilon=1e-6),
                layers.Conv2D(kernel_size=(1, 1), **config),
                layers.Conv2D(kernel_size=(3, 3), **config),
                SqueezeExcite(ratio=self.ratio),
                layers.Conv2D(kernel_size=(1, 1), filters=self.dimensions, padding="same"),
            ]
            self.trunk_blocks = [keras.Sequential(trunk_block) for _ in range(self.depth)]
            self.add = layers.Add()

        def call(self, x):
            for trunk_block in self.trunk_blocks:
                output = trunk_block(x)
                x = self.add([x, output])
            return x

    class AttentionPooling(layers.Layer):
        def __init__(self, dimensions, num_classes, **kwargs):
            super().__init__(**kwargs)
            self.dimensions = dimensions
            self.num_classes = num_classes
            self.cls = tf.Variable(tf.zeros((1, 1, dimensions)))

        def build(self, input_shape):
            self.attention = layers.MultiHeadAttention(
                num_heads=1,
                key_dim=self.dimensions,
                dropout=0.2,
            )
            self.layer_norm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layer_norm2 = layers.LayerNormalization(epsilon=1e-6)
            self.layer_norm3 = layers.LayerNormalization(epsilon=1e-6)
            self.mlp = keras.Sequential(
                [
                    layers.Dense(units=self.dimensions, activation=keras.activations.gelu),
                    layers.Dropout(0.2),
                    layers.Dense(units=self.dimensions, activation=keras.activations.gelu),
                ]
            )
            self.dense = layers.Dense(units=self.num_classes)
            self.flatten = layers.Flatten()

        def call(self, x):
            batch_size = tf.shape(x)[0]
            x = tf.reshape(x, (batch_size, -1, self.dimensions))
            # Expand the class token batch number of times.
            class_token = tf.repeat(self.cls, repeats=batch_size, axis=0)
            # Concat the input with the trainable class token.
            x = tf.concat([class_token, x], axis=1)
            # Apply attention to x.
            x = self.layer_norm1(x)
            x, viz_weights = self.attention(
                query=x[:, 0:1], key=x, value=x, return_attention_scores=True
            )
            class_token = class_token + x
            class_token = self.layer_norm2(class_token)
            class_token = self.flatten(class_token)
            class_token = self.layer_norm3(class_token)
            class_token = class_token + self.mlp(class_token)
            # Build the logits
            logits = self.dense(class_token)
            return logits, tf.squeeze(viz_weights)[..., 1:]

    class PatchConvNet(keras.Model):
        def __init__(self, stem, trunk, attention_pooling, preprocessing_model,
                     train_augmentation_model, **kwargs):
            super().__init__(**kwargs)
            self.stem = stem
            self.trunk = trunk
            self.attention_pooling = attention_pooling
            self.train_augmentation_model = train_augmentation_model
            self.preprocessing_model = preprocessing_model

        def call(self, images):
            x = self.preprocessing_model(images)
            x = self.stem(x)
            x = self.trunk(x)
            x, _ = self.attention_pooling(x)
            return x

    preprocessing_model = keras.Sequential(
        [layers.Rescaling(1 / 255.0), layers.Resizing(IMAGE_SIZE, IMAGE_SIZE)],
        name="preprocessing",
    )
    m = PatchConvNet(
        stem=build_convolutional_stem(dimensions=DIMENSIONS),
        trunk=Trunk(depth=TRUNK_DEPTH, dimensions=DIMENSIONS, ratio=SE_RATIO),
        attention_pooling=AttentionPooling(dimensions=DIMENSIONS, num_classes=NUM_CLASSES),
        preprocessing_model=preprocessing_model,
        train_augmentation_model=None,
    )
    m(np.zeros((1, 32, 32, 3), "float32"))
    m.probe_specs = [((32, 32, 3), "float32")]
    return m


@model
def perceiver():
    """keras.io vision/perceiver_image_classification, TF version: the subclassed
    ``Perceiver`` whose ``build`` adds the latent array and builds ``Patches``
    (tf.image.extract_patches), ``PatchEncoder`` (tf.range), the cross-attention and
    Transformer functional sub-models (a [1, latent, dim] latent broadcast against the
    batch in ``layers.Attention``); ``call`` feeds tf.expand_dims(latent_array, 0) and
    iterates; ``create_ffn`` with tf.nn.gelu; augmentation left out."""
    image_size = 16
    patch_size = 4
    num_patches = (image_size // patch_size) ** 2
    latent_dim = 4
    projection_dim = 8
    num_heads = 2
    ffn_units = [projection_dim, projection_dim]
    num_transformer_blocks = 1
    num_iterations = 2
    classifier_units = [projection_dim, 10]
    dropout_rate = 0.2

    def create_ffn(hidden_units, dropout_rate):
        ffn_layers = []
        for units in hidden_units[:-1]:
            ffn_layers.append(layers.Dense(units, activation=tf.nn.gelu))

        ffn_layers.append(layers.Dense(units=hidden_units[-1]))
        ffn_layers.append(layers.Dropout(dropout_rate))

        ffn = keras.Sequential(ffn_layers)
        return ffn

    class Patches(layers.Layer):
        def __init__(self, patch_size):
            super().__init__()
            self.patch_size = patch_size

        def call(self, images):
            batch_size = tf.shape(images)[0]
            patches = tf.image.extract_patches(
                images=images,
                sizes=[1, self.patch_size, self.patch_size, 1],
                strides=[1, self.patch_size, self.patch_size, 1],
                rates=[1, 1, 1, 1],
                padding="VALID",
            )
            patch_dims = patches.shape[-1]
            patches = tf.reshape(patches, [batch_size, -1, patch_dims])
            return patches

    class PatchEncoder(layers.Layer):
        def __init__(self, num_patches, projection_dim):
            super().__init__()
            self.num_patches = num_patches
            self.projection = layers.Dense(units=projection_dim)
            self.position_embedding = layers.Embedding(
                input_dim=num_patches, output_dim=projection_dim
            )

        def call(self, patches):
            positions = tf.range(start=0, limit=self.num_patches, delta=1)
            encoded = self.projection(patches) + self.position_embedding(positions)
            return encoded

    def create_cross_attention_module(latent_dim, data_dim, projection_dim, ffn_units,
                                      dropout_rate):
        inputs = {
            # Recieve the latent array as an input of shape [1, latent_dim, projection_dim].
            "latent_array": layers.Input(shape=(latent_dim, projection_dim)),
            # Recieve the data_array (encoded image) as an input of shape
            # [batch_size, data_dim, projection_dim].
            "data_array": layers.Input(shape=(data_dim, projection_dim)),
        }

        # Apply layer norm to the inputs
        latent_array = layers.LayerNormalization(epsilon=1e-6)(inputs["latent_array"])
        data_array = layers.LayerNormalization(epsilon=1e-6)(inputs["data_array"])

        # Create query tensor: [1, latent_dim, projection_dim].
        query = layers.Dense(units=projection_dim)(latent_array)
        # Create key tensor: [batch_size, data_dim, projection_dim].
        key = layers.Dense(units=projection_dim)(data_array)
        # Create value tensor: [batch_size, data_dim, projection_dim].
        value = layers.Dense(units=projection_dim)(data_array)

        # Generate cross-attention outputs: [batch_size, latent_dim, projection_dim].
        attention_output = layers.Attention(use_scale=True, dropout=0.1)(
            [query, key, value], return_attention_scores=False
        )
        # Skip connection 1.
        attention_output = layers.Add()([attention_output, latent_array])

        # Apply layer norm.
        attention_output = layers.LayerNormalization(epsilon=1e-6)(attention_output)
        # Apply Feedforward network.
        ffn = create_ffn(hidden_units=ffn_units, dropout_rate=dropout_rate)
        outputs = ffn(attention_output)
        # Skip connection 2.
        outputs = layers.Add()([outputs, attention_output])

        # Create the Keras model.
        model = keras.Model(inputs=inputs, outputs=outputs)
        return model

    def create_transformer_module(latent_dim, projection_dim, num_heads,
                                  num_transformer_blocks, ffn_units, dropout_rate):
        # input_shape: [1, latent_dim, projection_dim]
        inputs = layers.Input(shape=(latent_dim, projection_dim))

        x0 = inputs
        # Create multiple layers of the Transformer block.
        for _ in range(num_transformer_blocks):
            # Apply layer normalization 1.
            x1 = layers.LayerNormalization(epsilon=1e-6)(x0)
            # Create a multi-head self-attention layer.
            attention_output = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=projection_dim, dropout=0.1
            )(x1, x1)
            # Skip connection 1.
            x2 = layers.Add()([attention_output, x0])
            # Apply layer normalization 2.
            x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
            # Apply Feedforward network.
            ffn = create_ffn(hidden_units=ffn_units, dropout_rate=dropout_rate)
            x3 = ffn(x3)
            # Skip connection 2.
            x0 = layers.Add()([x3, x2])

        # Create the Keras model.
        model = keras.Model(inputs=inputs, outputs=x0)
        return model

    class Perceiver(keras.Model):
        def __init__(self, patch_size, data_dim, latent_dim, projection_dim, num_heads,
                     num_transformer_blocks, ffn_units, dropout_rate, num_iterations,
                     classifier_units):
            super().__init__()

            self.latent_dim = latent_dim
            self.data_dim = data_dim
            self.patch_size = patch_size
            self.projection_dim = projection_dim
            self.num_heads = num_heads
            self.num_transformer_blocks = num_transformer_blocks
            self.ffn_units = ffn_units
            self.dropout_rate = dropout_rate
            self.num_iterations = num_iterations
            self.classifier_units = classifier_units

        def build(self, input_shape):
            # Create latent array.
            self.latent_array = self.add_weight(
                shape=(self.latent_dim, self.projection_dim),
                initializer="random_normal",
                trainable=True,
            )

            # Create patching module.
            self.patcher = Patches(self.patch_size)

            # Create patch encoder.
            self.patch_encoder = PatchEncoder(self.data_dim, self.projection_dim)

            # Create cross-attenion module.
            self.cross_attention = create_cross_attention_module(
                self.latent_dim,
                self.data_dim,
                self.projection_dim,
                self.ffn_units,
                self.dropout_rate,
            )

            # Create Transformer module.
            self.transformer = create_transformer_module(
                self.latent_dim,
                self.projection_dim,
                self.num_heads,
                self.num_transformer_blocks,
                self.ffn_units,
                self.dropout_rate,
            )

            # Create global average pooling layer.
            self.global_average_pooling = layers.GlobalAveragePooling1D()

            # Create a classification head.
            self.classification_head = create_ffn(
                hidden_units=self.classifier_units, dropout_rate=self.dropout_rate
            )

            super().build(input_shape)

        def call(self, inputs):
            # Create patches.
            patches = self.patcher(inputs)
            # Encode patches.
            encoded_patches = self.patch_encoder(patches)
            # Prepare cross-attention inputs.
            cross_attention_inputs = {
                "latent_array": tf.expand_dims(self.latent_array, 0),
                "data_array": encoded_patches,
            }
            # Apply the cross-attention and the Transformer modules iteratively.
            for _ in range(self.num_iterations):
                # Apply cross-attention from the latent array to the data array.
                latent_array = self.cross_attention(cross_attention_inputs)
                # Apply self-attention Transformer to the latent array.
                latent_array = self.transformer(latent_array)
                # Set the latent array of the next iteration.
                cross_attention_inputs["latent_array"] = latent_array

            # Apply global average pooling to generate a [batch_size, projection_dim]
            # repesentation tensor.
            representation = self.global_average_pooling(latent_array)
            # Generate logits.
            logits = self.classification_head(representation)
            return logits

    m = Perceiver(patch_size, num_patches, latent_dim, projection_dim, num_heads,
                  num_transformer_blocks, ffn_units, dropout_rate, num_iterations,
                  classifier_units)
    m(np.zeros((1, image_size, image_size, 3), "float32"))
    m.probe_specs = [((image_size, image_size, 3), "float32")]
    return m


@model
def vivit():
    """keras.io vision/vivit (Video Vision Transformer), TF version: ``TubeletEmbedding``
    (Conv3D + Reshape), ``PositionalEncoder`` holding tf.range positions built in
    ``build``, blocks with Dense(activation=tf.nn.gelu); 8x16x16x1 videos, 4x4x4
    tubelets."""
    INPUT_SHAPE = (8, 16, 16, 1)
    NUM_CLASSES = 11
    PATCH_SIZE = (4, 4, 4)
    LAYER_NORM_EPS = 1e-6
    PROJECTION_DIM = 8
    NUM_HEADS = 2
    NUM_LAYERS = 2

    class TubeletEmbedding(layers.Layer):
        def __init__(self, embed_dim, patch_size, **kwargs):
            super().__init__(**kwargs)
            self.projection = layers.Conv3D(
                filters=embed_dim,
                kernel_size=patch_size,
                strides=patch_size,
                padding="VALID",
            )
            self.flatten = layers.Reshape(target_shape=(-1, embed_dim))

        def call(self, videos):
            projected_patches = self.projection(videos)
            flattened_patches = self.flatten(projected_patches)
            return flattened_patches

    class PositionalEncoder(layers.Layer):
        def __init__(self, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.embed_dim = embed_dim

        def build(self, input_shape):
            _, num_tokens, _ = input_shape
            self.position_embedding = layers.Embedding(
                input_dim=num_tokens, output_dim=self.embed_dim
            )
            self.positions = tf.range(start=0, limit=num_tokens, delta=1)

        def call(self, encoded_tokens):
            # Encode the positions and add it to the encoded tokens
            encoded_positions = self.position_embedding(self.positions)
            encoded_tokens = encoded_tokens + encoded_positions
            return encoded_tokens

    def create_vivit_classifier(tubelet_embedder, positional_encoder,
                                input_shape=INPUT_SHAPE, transformer_layers=NUM_LAYERS,
                                num_heads=NUM_HEADS, embed_dim=PROJECTION_DIM,
                                layer_norm_eps=LAYER_NORM_EPS, num_classes=NUM_CLASSES):
        # Get the input layer
        inputs = layers.Input(shape=input_shape)
        # Create patches.
        patches = tubelet_embedder(inputs)
        # Encode patches.
        encoded_patches = positional_encoder(patches)

        # Create multiple layers of the Transformer block.
        for _ in range(transformer_layers):
            # Layer normalization and MHSA
            x1 = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
            attention_output = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=embed_dim // num_heads, dropout=0.1
            )(x1, x1)

            # Skip connection
            x2 = layers.Add()([attention_output, encoded_patches])

            # Layer Normalization and MLP
            x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
            x3 = keras.Sequential(
                [
                    layers.Dense(units=embed_dim * 4, activation=tf.nn.gelu),
                    layers.Dense(units=embed_dim, activation=tf.nn.gelu),
                ]
            )(x3)

            # Skip connection
            encoded_patches = layers.Add()([x3, x2])

        # Layer normalization and Global average pooling.
        representation = layers.LayerNormalization(epsilon=layer_norm_eps)(encoded_patches)
        representation = layers.GlobalAvgPool1D()(representation)

        # Classify outputs.
        outputs = layers.Dense(units=num_classes, activation="softmax")(representation)

        # Create the Keras model.
        return keras.Model(inputs=inputs, outputs=outputs)

    return create_vivit_classifier(
        tubelet_embedder=TubeletEmbedding(embed_dim=PROJECTION_DIM, patch_size=PATCH_SIZE),
        positional_encoder=PositionalEncoder(embed_dim=PROJECTION_DIM),
    )


@model
def mobilevit():
    """keras.io vision/mobilevit, TF version: ``conv_block`` (Conv2D with tf.nn.swish),
    ``correct_pad`` + ZeroPadding2D, ``inverted_residual_block`` (tf.nn.swish on
    functional tensors, in ``layers.Lambda`` for Keras 3; the residual decided with
    tf.math.equal on static sizes), ``mobilevit_block`` unfolding with Reshape into
    (patch_size, num_patches, dim), Transformer blocks, folding back; 32x32 images,
    channels 8-16, one Transformer block per MobileViT block."""
    patch_size = 4  # 2x2, for the Transformer blocks.
    image_size = 32
    expansion_factor = 2  # expansion factor for the MobileNetV2 blocks.

    def conv_block(x, filters=16, kernel_size=3, strides=2):
        conv_layer = layers.Conv2D(
            filters, kernel_size, strides=strides, activation=tf.nn.swish, padding="same"
        )
        return conv_layer(x)

    # Reference: https://git.io/JKgtC
    def correct_pad(inputs, kernel_size):
        img_dim = 2 if keras.backend.image_data_format() == "channels_first" else 1
        input_size = inputs.shape[img_dim: (img_dim + 2)]
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        if input_size[0] is None:
            adjust = (1, 1)
        else:
            adjust = (1 - input_size[0] % 2, 1 - input_size[1] % 2)
        correct = (kernel_size[0] // 2, kernel_size[1] // 2)
        return (
            (correct[0] - adjust[0], correct[0]),
            (correct[1] - adjust[1], correct[1]),
        )

    # Reference: https://git.io/JKgtC
    def inverted_residual_block(x, expanded_channels, output_channels, strides=1):
        m = layers.Conv2D(expanded_channels, 1, padding="same", use_bias=False)(x)
        m = layers.BatchNormalization()(m)
        m = layers.Lambda(tf.nn.swish)(m)

        if strides == 2:
            m = layers.ZeroPadding2D(padding=correct_pad(m, 3))(m)
        m = layers.DepthwiseConv2D(
            3, strides=strides, padding="same" if strides == 1 else "valid", use_bias=False
        )(m)
        m = layers.BatchNormalization()(m)
        m = layers.Lambda(tf.nn.swish)(m)

        m = layers.Conv2D(output_channels, 1, padding="same", use_bias=False)(m)
        m = layers.BatchNormalization()(m)

        if tf.math.equal(x.shape[-1], output_channels) and strides == 1:
            return layers.Add()([m, x])
        return m

    # Reference:
    # https://keras.io/examples/vision/image_classification_with_vision_transformer/
    def mlp(x, hidden_units, dropout_rate):
        for units in hidden_units:
            x = layers.Dense(units, activation=tf.nn.swish)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    def transformer_block(x, transformer_layers, projection_dim, num_heads=2):
        for _ in range(transformer_layers):
            # Layer normalization 1.
            x1 = layers.LayerNormalization(epsilon=1e-6)(x)
            # Create a multi-head attention layer.
            attention_output = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=projection_dim, dropout=0.1
            )(x1, x1)
            # Skip connection 1.
            x2 = layers.Add()([attention_output, x])
            # Layer normalization 2.
            x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
            # MLP.
            x3 = mlp(x3, hidden_units=[x.shape[-1] * 2, x.shape[-1]], dropout_rate=0.1)
            # Skip connection 2.
            x = layers.Add()([x3, x2])

        return x

    def mobilevit_block(x, num_blocks, projection_dim, strides=1):
        # Local projection with convolutions.
        local_features = conv_block(x, filters=projection_dim, strides=strides)
        local_features = conv_block(
            local_features, filters=projection_dim, kernel_size=1, strides=strides
        )

        # Unfold into patches and then pass through Transformers.
        num_patches = int((local_features.shape[1] * local_features.shape[2]) / patch_size)
        non_overlapping_patches = layers.Reshape((patch_size, num_patches, projection_dim))(
            local_features
        )
        global_features = transformer_block(
            non_overlapping_patches, num_blocks, projection_dim
        )

        # Fold into conv-like feature-maps.
        folded_feature_map = layers.Reshape((*local_features.shape[1:-1], projection_dim))(
            global_features
        )

        # Apply point-wise conv -> concatenate with the input features.
        folded_feature_map = conv_block(
            folded_feature_map, filters=x.shape[-1], kernel_size=1, strides=strides
        )
        local_global_features = layers.Concatenate(axis=-1)([x, folded_feature_map])

        # Fuse the local and global features using a convoluion layer.
        local_global_features = conv_block(
            local_global_features, filters=projection_dim, strides=strides
        )

        return local_global_features

    def create_mobilevit(num_classes=5):
        inputs = keras.Input((image_size, image_size, 3))
        x = layers.Rescaling(scale=1.0 / 255)(inputs)

        # Initial conv-stem -> MV2 block.
        x = conv_block(x, filters=8)
        x = inverted_residual_block(
            x, expanded_channels=8 * expansion_factor, output_channels=8
        )

        # Downsampling with MV2 block.
        x = inverted_residual_block(
            x, expanded_channels=8 * expansion_factor, output_channels=12, strides=2
        )
        x = inverted_residual_block(
            x, expanded_channels=12 * expansion_factor, output_channels=12
        )

        # First MV2 -> MobileViT block.
        x = mobilevit_block(x, num_blocks=1, projection_dim=16)

        # Second MV2 -> MobileViT block.
        x = inverted_residual_block(
            x, expanded_channels=16 * expansion_factor, output_channels=16, strides=2
        )
        x = mobilevit_block(x, num_blocks=1, projection_dim=16)

        x = conv_block(x, filters=32, kernel_size=1, strides=1)

        # Classification head.
        x = layers.GlobalAvgPool2D()(x)
        outputs = layers.Dense(num_classes, activation="softmax")(x)

        return keras.Model(inputs, outputs)

    return create_mobilevit()


# --------------------------------------------------------------------------------------
# other vision models
# --------------------------------------------------------------------------------------

@model
def involution():
    """keras.io vision/involution, as written: ``Involution`` building its kernel
    generator and Reshape layers in ``build``, tf.identity as the stride layer,
    tf.image.extract_patches of the input, tf.multiply and tf.reduce_sum; returns
    (output, kernel); three involution stages, 16x16 images."""
    class Involution(keras.layers.Layer):
        def __init__(self, channel, group_number, kernel_size, stride, reduction_ratio,
                     name):
            super().__init__(name=name)

            # Initialize the parameters.
            self.channel = channel
            self.group_number = group_number
            self.kernel_size = kernel_size
            self.stride = stride
            self.reduction_ratio = reduction_ratio

        def build(self, input_shape):
            # Get the shape of the input.
            (_, height, width, num_channels) = input_shape

            # Scale the height and width with respect to the strides.
            height = height // self.stride
            width = width // self.stride

            # Define a layer that average pools the input tensor
            # if stride is more than 1.
            self.stride_layer = (
                keras.layers.AveragePooling2D(
                    pool_size=self.stride, strides=self.stride, padding="same"
                )
                if self.stride > 1
                else tf.identity
            )
            # Define the kernel generation layer.
            self.kernel_gen = keras.Sequential(
                [
                    keras.layers.Conv2D(
                        filters=self.channel // self.reduction_ratio, kernel_size=1
                    ),
                    keras.layers.BatchNormalization(),
                    keras.layers.ReLU(),
                    keras.layers.Conv2D(
                        filters=self.kernel_size * self.kernel_size * self.group_number,
                        kernel_size=1,
                    ),
                ]
            )
            # Define reshape layers
            self.kernel_reshape = keras.layers.Reshape(
                target_shape=(
                    height,
                    width,
                    self.kernel_size * self.kernel_size,
                    1,
                    self.group_number,
                )
            )
            self.input_patches_reshape = keras.layers.Reshape(
                target_shape=(
                    height,
                    width,
                    self.kernel_size * self.kernel_size,
                    num_channels // self.group_number,
                    self.group_number,
                )
            )
            self.output_reshape = keras.layers.Reshape(
                target_shape=(height, width, num_channels)
            )

        def call(self, x):
            # Generate the kernel with respect to the input tensor.
            # B, H, W, K*K*G
            kernel_input = self.stride_layer(x)
            kernel = self.kernel_gen(kernel_input)

            # reshape the kerenl
            # B, H, W, K*K, 1, G
            kernel = self.kernel_reshape(kernel)

            # Extract input patches.
            # B, H, W, K*K*C
            input_patches = tf.image.extract_patches(
                images=x,
                sizes=[1, self.kernel_size, self.kernel_size, 1],
                strides=[1, self.stride, self.stride, 1],
                rates=[1, 1, 1, 1],
                padding="SAME",
            )

            # Reshape the input patches to align with later operations.
            # B, H, W, K*K, C//G, G
            input_patches = self.input_patches_reshape(input_patches)

            # Compute the multiply-add operation of kernels and patches.
            # B, H, W, K*K, C//G, G
            output = tf.multiply(kernel, input_patches)
            # B, H, W, C//G, G
            output = tf.reduce_sum(output, axis=3)

            # Reshape the output kernel.
            # B, H, W, C
            output = self.output_reshape(output)

            # Return the output tensor and the kernel.
            return output, kernel

    inputs = keras.Input(shape=(16, 16, 3))
    x, _ = Involution(channel=3, group_number=1, kernel_size=3, stride=1,
                      reduction_ratio=2, name="inv_1")(inputs)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x, _ = Involution(channel=3, group_number=1, kernel_size=3, stride=1,
                      reduction_ratio=2, name="inv_2")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x, _ = Involution(channel=3, group_number=1, kernel_size=3, stride=1,
                      reduction_ratio=2, name="inv_3")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs=[inputs], outputs=[outputs], name="inv_model")


@model
def learnable_resizer():
    """keras.io vision/learnable_resizer: the functional resizer (two Resizing layers,
    the shared LeakyReLU default argument of ``conv_block``, ``res_block``), applied after
    Rescaling, then a backbone; DenseNet121(weights=None) is replaced by a small
    Conv2D / GlobalAveragePooling2D / Dense stand-in at the 16x16 target size; inputs
    32x32 (the resizer itself takes [None, None, 3])."""
    INP_SIZE = (32, 32)
    TARGET_SIZE = (16, 16)
    INTERPOLATION = "bilinear"

    def conv_block(x, filters, kernel_size, strides, activation=layers.LeakyReLU(0.2)):
        x = layers.Conv2D(filters, kernel_size, strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        if activation:
            x = activation(x)
        return x

    def res_block(x):
        inputs = x
        x = conv_block(x, 16, 3, 1)
        x = conv_block(x, 16, 3, 1, activation=None)
        return layers.Add()([inputs, x])

    def get_learnable_resizer(filters=16, num_res_blocks=1, interpolation=INTERPOLATION):
        inputs = layers.Input(shape=[None, None, 3])

        # First, perform naive resizing.
        naive_resize = layers.Resizing(*TARGET_SIZE, interpolation=interpolation)(inputs)

        # First convolution block without batch normalization.
        x = layers.Conv2D(filters=filters, kernel_size=7, strides=1, padding="same")(inputs)
        x = layers.LeakyReLU(0.2)(x)

        # Second convolution block with batch normalization.
        x = layers.Conv2D(filters=filters, kernel_size=1, strides=1, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.BatchNormalization()(x)

        # Intermediate resizing as a bottleneck.
        bottleneck = layers.Resizing(*TARGET_SIZE, interpolation=interpolation)(x)

        # Residual passes.
        for _ in range(num_res_blocks):
            x = res_block(bottleneck)

        # Projection.
        x = layers.Conv2D(
            filters=filters, kernel_size=3, strides=1, padding="same", use_bias=False
        )(x)
        x = layers.BatchNormalization()(x)

        # Skip connection.
        x = layers.Add()([bottleneck, x])

        # Final resized image.
        x = layers.Conv2D(filters=3, kernel_size=7, strides=1, padding="same")(x)
        final_resize = layers.Add()([naive_resize, x])

        return tf.keras.Model(inputs, final_resize, name="learnable_resizer")

    learnable_resizer = get_learnable_resizer()

    def get_model():
        backbone = keras.Sequential(
            [
                keras.Input((TARGET_SIZE[0], TARGET_SIZE[1], 3)),
                layers.Conv2D(8, 3, strides=2, activation="relu"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(2, activation="softmax"),
            ],
            name="backbone",
        )
        backbone.trainable = True

        inputs = layers.Input((INP_SIZE[0], INP_SIZE[1], 3))
        x = layers.Rescaling(scale=1.0 / 255)(inputs)
        x = learnable_resizer(x)
        outputs = backbone(x)

        return tf.keras.Model(inputs, outputs)

    return get_model()


@model
def espcn_super_resolution():
    """keras.io vision/super_resolution_sub_pixel (ESPCN): four Conv2D with Orthogonal
    initialization, then tf.nn.depth_to_space on the functional tensor (in
    ``layers.Lambda`` for Keras 3); input (None, None, 1), filters 8/8/4."""
    def get_model(upscale_factor=3, channels=1):
        conv_args = {
            "activation": "relu",
            "kernel_initializer": "Orthogonal",
            "padding": "same",
        }
        inputs = keras.Input(shape=(None, None, channels))
        x = layers.Conv2D(8, 5, **conv_args)(inputs)
        x = layers.Conv2D(8, 3, **conv_args)(x)
        x = layers.Conv2D(4, 3, **conv_args)(x)
        x = layers.Conv2D(channels * (upscale_factor ** 2), 3, **conv_args)(x)
        outputs = layers.Lambda(lambda t: tf.nn.depth_to_space(t, upscale_factor))(x)

        return keras.Model(inputs, outputs)

    return get_model(upscale_factor=3, channels=1)


@model
def metric_learning():
    """keras.io vision/metric_learning: the conv embedding network ending in
    tf.nn.l2_normalize (in ``layers.Lambda`` for Keras 3), wrapped in the
    ``EmbeddingModel(keras.Model)`` subclass that only overrides ``train_step``."""
    height_width = 32

    class EmbeddingModel(keras.Model):
        def train_step(self, data):
            raise NotImplementedError  # the example's training loop is not needed here

    inputs = layers.Input(shape=(height_width, height_width, 3))
    x = layers.Conv2D(filters=8, kernel_size=3, strides=2, activation="relu")(inputs)
    x = layers.Conv2D(filters=16, kernel_size=3, strides=2, activation="relu")(x)
    x = layers.Conv2D(filters=32, kernel_size=3, strides=2, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    embeddings = layers.Dense(units=8, activation=None)(x)
    embeddings = layers.Lambda(lambda t: tf.nn.l2_normalize(t, axis=-1))(embeddings)

    return EmbeddingModel(inputs, embeddings)


@model
def mirnet():
    """keras.io vision/mirnet (low-light enhancement): selective kernel feature fusion
    (tf.reshape of the pooled features), spatial attention (tf.reduce_max /
    tf.reduce_mean / tf.expand_dims / tf.nn.sigmoid), channel attention, dual attention
    units, the multi-scale residual block with its down / up sampling modules; the tf
    calls on functional tensors are in ``layers.Lambda`` for Keras 3; num_rrg=1,
    num_mrb=1, channels=8, input [None, None, 3]."""
    def selective_kernel_feature_fusion(multi_scale_feature_1, multi_scale_feature_2,
                                        multi_scale_feature_3):
        channels = list(multi_scale_feature_1.shape)[-1]
        combined_feature = layers.Add()(
            [multi_scale_feature_1, multi_scale_feature_2, multi_scale_feature_3]
        )
        gap = layers.GlobalAveragePooling2D()(combined_feature)
        channel_wise_statistics = layers.Lambda(
            lambda t: tf.reshape(t, shape=(-1, 1, 1, channels)))(gap)
        compact_feature_representation = layers.Conv2D(
            filters=channels // 8, kernel_size=(1, 1), activation="relu"
        )(channel_wise_statistics)
        feature_descriptor_1 = layers.Conv2D(
            channels, kernel_size=(1, 1), activation="softmax"
        )(compact_feature_representation)
        feature_descriptor_2 = layers.Conv2D(
            channels, kernel_size=(1, 1), activation="softmax"
        )(compact_feature_representation)
        feature_descriptor_3 = layers.Conv2D(
            channels, kernel_size=(1, 1), activation="softmax"
        )(compact_feature_representation)
        feature_1 = multi_scale_feature_1 * feature_descriptor_1
        feature_2 = multi_scale_feature_2 * feature_descriptor_2
        feature_3 = multi_scale_feature_3 * feature_descriptor_3
        aggregated_feature = layers.Add()([feature_1, feature_2, feature_3])
        return aggregated_feature

    def spatial_attention_block(input_tensor):
        average_pooling = layers.Lambda(lambda t: tf.reduce_max(t, axis=-1))(input_tensor)
        average_pooling = layers.Lambda(lambda t: tf.expand_dims(t, axis=-1))(
            average_pooling)
        max_pooling = layers.Lambda(lambda t: tf.reduce_mean(t, axis=-1))(input_tensor)
        max_pooling = layers.Lambda(lambda t: tf.expand_dims(t, axis=-1))(max_pooling)
        concatenated = layers.Concatenate(axis=-1)([average_pooling, max_pooling])
        feature_map = layers.Conv2D(1, kernel_size=(1, 1))(concatenated)
        feature_map = layers.Lambda(tf.nn.sigmoid)(feature_map)
        return input_tensor * feature_map

    def channel_attention_block(input_tensor):
        channels = list(input_tensor.shape)[-1]
        average_pooling = layers.GlobalAveragePooling2D()(input_tensor)
        feature_descriptor = layers.Lambda(
            lambda t: tf.reshape(t, shape=(-1, 1, 1, channels)))(average_pooling)
        feature_activations = layers.Conv2D(
            filters=channels // 8, kernel_size=(1, 1), activation="relu"
        )(feature_descriptor)
        feature_activations = layers.Conv2D(
            filters=channels, kernel_size=(1, 1), activation="sigmoid"
        )(feature_activations)
        return input_tensor * feature_activations

    def dual_attention_unit_block(input_tensor):
        channels = list(input_tensor.shape)[-1]
        feature_map = layers.Conv2D(
            channels, kernel_size=(3, 3), padding="same", activation="relu"
        )(input_tensor)
        feature_map = layers.Conv2D(channels, kernel_size=(3, 3), padding="same")(
            feature_map
        )
        channel_attention = channel_attention_block(feature_map)
        spatial_attention = spatial_attention_block(feature_map)
        concatenation = layers.Concatenate(axis=-1)([channel_attention, spatial_attention])
        concatenation = layers.Conv2D(channels, kernel_size=(1, 1))(concatenation)
        return layers.Add()([input_tensor, concatenation])

    def down_sampling_module(input_tensor):
        channels = list(input_tensor.shape)[-1]
        main_branch = layers.Conv2D(channels, kernel_size=(1, 1), activation="relu")(
            input_tensor
        )
        main_branch = layers.Conv2D(
            channels, kernel_size=(3, 3), padding="same", activation="relu"
        )(main_branch)
        main_branch = layers.MaxPooling2D()(main_branch)
        main_branch = layers.Conv2D(channels * 2, kernel_size=(1, 1))(main_branch)
        skip_branch = layers.MaxPooling2D()(input_tensor)
        skip_branch = layers.Conv2D(channels * 2, kernel_size=(1, 1))(skip_branch)
        return layers.Add()([skip_branch, main_branch])

    def up_sampling_module(input_tensor):
        channels = list(input_tensor.shape)[-1]
        main_branch = layers.Conv2D(channels, kernel_size=(1, 1), activation="relu")(
            input_tensor
        )
        main_branch = layers.Conv2D(
            channels, kernel_size=(3, 3), padding="same", activation="relu"
        )(main_branch)
        main_branch = layers.UpSampling2D()(main_branch)
        main_branch = layers.Conv2D(channels // 2, kernel_size=(1, 1))(main_branch)
        skip_branch = layers.UpSampling2D()(input_tensor)
        skip_branch = layers.Conv2D(channels // 2, kernel_size=(1, 1))(skip_branch)
        return layers.Add()([skip_branch, main_branch])

    # MRB Block
    def multi_scale_residual_block(input_tensor, channels):
        # features
        level1 = input_tensor
        level2 = down_sampling_module(input_tensor)
        level3 = down_sampling_module(level2)
        # DAU
        level1_dau = dual_attention_unit_block(level1)
        level2_dau = dual_attention_unit_block(level2)
        level3_dau = dual_attention_unit_block(level3)
        # SKFF
        level1_skff = selective_kernel_feature_fusion(
            level1_dau,
            up_sampling_module(level2_dau),
            up_sampling_module(up_sampling_module(level3_dau)),
        )
        level2_skff = selective_kernel_feature_fusion(
            down_sampling_module(level1_dau),
            level2_dau,
            up_sampling_module(level3_dau),
        )
        level3_skff = selective_kernel_feature_fusion(
            down_sampling_module(down_sampling_module(level1_dau)),
            down_sampling_module(level2_dau),
            level3_dau,
        )
        # DAU 2
        level1_dau_2 = dual_attention_unit_block(level1_skff)
        level2_dau_2 = up_sampling_module((dual_attention_unit_block(level2_skff)))
        level3_dau_2 = up_sampling_module(
            up_sampling_module(dual_attention_unit_block(level3_skff))
        )
        # SKFF 2
        skff_ = selective_kernel_feature_fusion(level1_dau_2, level2_dau_2, level3_dau_2)
        conv = layers.Conv2D(channels, kernel_size=(3, 3), padding="same")(skff_)
        return layers.Add()([input_tensor, conv])

    def recursive_residual_group(input_tensor, num_mrb, channels):
        conv1 = layers.Conv2D(channels, kernel_size=(3, 3), padding="same")(input_tensor)
        for _ in range(num_mrb):
            conv1 = multi_scale_residual_block(conv1, channels)
        conv2 = layers.Conv2D(channels, kernel_size=(3, 3), padding="same")(conv1)
        return layers.Add()([conv2, input_tensor])

    def mirnet_model(num_rrg, num_mrb, channels):
        input_tensor = keras.Input(shape=[None, None, 3])
        x1 = layers.Conv2D(channels, kernel_size=(3, 3), padding="same")(input_tensor)
        for _ in range(num_rrg):
            x1 = recursive_residual_group(x1, num_mrb, channels)
        conv = layers.Conv2D(3, kernel_size=(3, 3), padding="same")(x1)
        output_tensor = layers.Add()([input_tensor, conv])
        return keras.Model(input_tensor, output_tensor)

    return mirnet_model(num_rrg=1, num_mrb=1, channels=8)


@model
def pointnet_tf():
    """keras.io vision/pointnet, TF version: ``conv_bn`` / ``dense_bn`` with
    BatchNormalization(momentum=0.0), the ``OrthogonalRegularizer`` (tf.eye, tf.reshape,
    tf.tensordot; an activity regularizer only, not in the inference graph), ``tnet``
    with an identity-matrix bias and Dot(axes=(2, 1)); the tnet's last Dense keeps the
    default kernel initializer instead of "zeros"; 16 points, widths 8-32."""
    NUM_POINTS = 16
    NUM_CLASSES = 10

    def conv_bn(x, filters):
        x = layers.Conv1D(filters, kernel_size=1, padding="valid")(x)
        x = layers.BatchNormalization(momentum=0.0)(x)
        return layers.Activation("relu")(x)

    def dense_bn(x, filters):
        x = layers.Dense(filters)(x)
        x = layers.BatchNormalization(momentum=0.0)(x)
        return layers.Activation("relu")(x)

    class OrthogonalRegularizer(keras.regularizers.Regularizer):
        def __init__(self, num_features, l2reg=0.001):
            self.num_features = num_features
            self.l2reg = l2reg
            self.eye = tf.eye(num_features)

        def __call__(self, x):
            x = tf.reshape(x, (-1, self.num_features, self.num_features))
            xxt = tf.tensordot(x, x, axes=(2, 2))
            xxt = tf.reshape(xxt, (-1, self.num_features, self.num_features))
            return tf.reduce_sum(self.l2reg * tf.square(xxt - self.eye))

    def tnet(inputs, num_features):
        # Initalise bias as the indentity matrix
        bias = keras.initializers.Constant(np.eye(num_features).flatten())
        reg = OrthogonalRegularizer(num_features)

        x = conv_bn(inputs, 8)
        x = conv_bn(x, 16)
        x = conv_bn(x, 32)
        x = layers.GlobalMaxPooling1D()(x)
        x = dense_bn(x, 16)
        x = dense_bn(x, 8)
        x = layers.Dense(
            num_features * num_features,
            bias_initializer=bias,
            activity_regularizer=reg,
        )(x)
        feat_T = layers.Reshape((num_features, num_features))(x)
        # Apply affine transformation to input features
        return layers.Dot(axes=(2, 1))([inputs, feat_T])

    inputs = keras.Input(shape=(NUM_POINTS, 3))

    x = tnet(inputs, 3)
    x = conv_bn(x, 8)
    x = conv_bn(x, 8)
    x = tnet(x, 8)
    x = conv_bn(x, 8)
    x = conv_bn(x, 16)
    x = conv_bn(x, 32)
    x = layers.GlobalMaxPooling1D()(x)
    x = dense_bn(x, 16)
    x = layers.Dropout(0.3)(x)
    x = dense_bn(x, 8)
    x = layers.Dropout(0.3)(x)

    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)

    return keras.Model(inputs=inputs, outputs=outputs, name="pointnet")


@model
def conv_lstm_next_frame():
    """keras.io vision/conv_lstm (next-frame prediction): three ConvLSTM2D with
    BatchNormalization, a Conv3D sigmoid head; input (None, 16, 16, 1), 4 filters."""
    inp = layers.Input(shape=(None, 16, 16, 1))

    x = layers.ConvLSTM2D(
        filters=4, kernel_size=(5, 5), padding="same", return_sequences=True,
        activation="relu",
    )(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(
        filters=4, kernel_size=(3, 3), padding="same", return_sequences=True,
        activation="relu",
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(
        filters=4, kernel_size=(1, 1), padding="same", return_sequences=True,
        activation="relu",
    )(x)
    x = layers.Conv3D(
        filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same"
    )(x)

    return keras.models.Model(inp, x)


# --------------------------------------------------------------------------------------
# generative
# --------------------------------------------------------------------------------------

@model
def ddim_residual_unet():
    """keras.io generative/ddim (denoising diffusion implicit models): ``get_network``,
    a residual U-Net whose noise-variance input goes through
    ``layers.Lambda(sinusoidal_embedding)`` (tf.exp, tf.linspace, tf.math.log, tf.sin,
    tf.cos, tf.concat) and UpSampling2D; ``ResidualBlock`` / ``DownBlock`` / ``UpBlock``
    closures; the last Conv2D keeps the default initializer instead of "zeros"; 16x16
    images, widths [8, 16], block_depth 1, embedding_dims 8."""
    image_size = 16
    embedding_dims = 8
    embedding_max_frequency = 1000.0
    widths = [8, 16]
    block_depth = 1

    def sinusoidal_embedding(x):
        embedding_min_frequency = 1.0
        frequencies = tf.exp(
            tf.linspace(
                tf.math.log(embedding_min_frequency),
                tf.math.log(embedding_max_frequency),
                embedding_dims // 2,
            )
        )
        angular_speeds = 2.0 * math.pi * frequencies
        embeddings = tf.concat(
            [tf.sin(angular_speeds * x), tf.cos(angular_speeds * x)], axis=3
        )
        return embeddings

    def ResidualBlock(width):
        def apply(x):
            input_width = x.shape[3]
            if input_width == width:
                residual = x
            else:
                residual = layers.Conv2D(width, kernel_size=1)(x)
            x = layers.BatchNormalization(center=False, scale=False)(x)
            x = layers.Conv2D(
                width, kernel_size=3, padding="same", activation=keras.activations.swish
            )(x)
            x = layers.Conv2D(width, kernel_size=3, padding="same")(x)
            x = layers.Add()([x, residual])
            return x

        return apply

    def DownBlock(width, block_depth):
        def apply(x):
            x, skips = x
            for _ in range(block_depth):
                x = ResidualBlock(width)(x)
                skips.append(x)
            x = layers.AveragePooling2D(pool_size=2)(x)
            return x

        return apply

    def UpBlock(width, block_depth):
        def apply(x):
            x, skips = x
            x = layers.UpSampling2D(size=2, interpolation="bilinear")(x)
            for _ in range(block_depth):
                x = layers.Concatenate()([x, skips.pop()])
                x = ResidualBlock(width)(x)
            return x

        return apply

    def get_network(image_size, widths, block_depth):
        noisy_images = keras.Input(shape=(image_size, image_size, 3))
        noise_variances = keras.Input(shape=(1, 1, 1))

        e = layers.Lambda(sinusoidal_embedding)(noise_variances)
        e = layers.UpSampling2D(size=image_size, interpolation="nearest")(e)

        x = layers.Conv2D(widths[0], kernel_size=1)(noisy_images)
        x = layers.Concatenate()([x, e])

        skips = []
        for width in widths[:-1]:
            x = DownBlock(width, block_depth)([x, skips])

        for _ in range(block_depth):
            x = ResidualBlock(widths[-1])(x)

        for width in reversed(widths[:-1]):
            x = UpBlock(width, block_depth)([x, skips])

        x = layers.Conv2D(3, kernel_size=1)(x)

        return keras.Model([noisy_images, noise_variances], x, name="residual_unet")

    return get_network(image_size, widths, block_depth)


@model
def miniature_gpt():
    """keras.io generative/text_generation_with_miniature_gpt, TF version:
    ``causal_attention_mask`` (tf.range, tf.cast, tf.reshape, tf.concat of
    tf.expand_dims(batch_size) and tf.constant, tf.tile), ``TransformerBlock`` reading
    tf.shape, ``TokenAndPositionEmbedding`` (tf.shape(x)[-1], tf.range); outputs
    [logits, x]; vocab 20, maxlen 8."""
    vocab_size = 20
    maxlen = 8
    embed_dim = 8
    num_heads = 2
    feed_forward_dim = 16

    def causal_attention_mask(batch_size, n_dest, n_src, dtype):
        """
        Mask the upper half of the dot product matrix in self attention.
        This prevents flow of information from future tokens to current token.
        1's in the lower triangle, counting from the lower right corner.
        """
        i = tf.range(n_dest)[:, None]
        j = tf.range(n_src)
        m = i >= j - n_src + n_dest
        mask = tf.cast(m, dtype)
        mask = tf.reshape(mask, [1, n_dest, n_src])
        mult = tf.concat(
            [tf.expand_dims(batch_size, -1), tf.constant([1, 1], dtype=tf.int32)], 0
        )
        return tf.tile(mask, mult)

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads, embed_dim)
            self.ffn = keras.Sequential(
                [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
            )
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            input_shape = tf.shape(inputs)
            batch_size = input_shape[0]
            seq_len = input_shape[1]
            causal_mask = causal_attention_mask(batch_size, seq_len, seq_len, tf.bool)
            attention_output = self.att(inputs, inputs, attention_mask=causal_mask)
            attention_output = self.dropout1(attention_output)
            out1 = self.layernorm1(inputs + attention_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output)
            return self.layernorm2(out1 + ffn_output)

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            maxlen = tf.shape(x)[-1]
            positions = tf.range(start=0, limit=maxlen, delta=1)
            positions = self.pos_emb(positions)
            x = self.token_emb(x)
            return x + positions

    def create_model():
        inputs = layers.Input(shape=(maxlen,), dtype=tf.int32)
        embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
        x = embedding_layer(inputs)
        transformer_block = TransformerBlock(embed_dim, num_heads, feed_forward_dim)
        x = transformer_block(x)
        outputs = layers.Dense(vocab_size)(x)
        model = keras.Model(inputs=inputs, outputs=[outputs, x])
        return model

    return create_model()


# --------------------------------------------------------------------------------------
# text and audio
# --------------------------------------------------------------------------------------

def _text_classification_blocks():
    """The TF versions of nlp/text_classification_with_transformer's
    ``TransformerBlock`` (call(inputs, training)) and ``TokenAndPositionEmbedding``
    (tf.shape(x)[-1], tf.range); Keras 3 does not fill a required ``training``
    argument, so it defaults to None."""
    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential(
                [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
            )
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs, training=None):
            attn_output = self.att(inputs, inputs)
            attn_output = self.dropout1(attn_output, training=training)
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output, training=training)
            return self.layernorm2(out1 + ffn_output)

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            maxlen = tf.shape(x)[-1]
            positions = tf.range(start=0, limit=maxlen, delta=1)
            positions = self.pos_emb(positions)
            x = self.token_emb(x)
            return x + positions

    return TransformerBlock, TokenAndPositionEmbedding


@model
def text_classification_transformer():
    """keras.io nlp/text_classification_with_transformer, TF version: the functional
    classifier over ``TokenAndPositionEmbedding`` and ``TransformerBlock``; the Input is
    given dtype int32 (the example's float32 Input was fed token ids); vocab 20, maxlen
    8."""
    TransformerBlock, TokenAndPositionEmbedding = _text_classification_blocks()
    vocab_size = 20
    maxlen = 8
    embed_dim = 8
    num_heads = 2
    ff_dim = 16

    inputs = layers.Input(shape=(maxlen,), dtype="int32")
    embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
    x = transformer_block(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)

    return keras.Model(inputs=inputs, outputs=outputs)


@model
def switch_transformer():
    """keras.io nlp/text_classification_with_switch_transformer: ``Router`` (top-1 with
    tf.math.top_k, tf.one_hot, tf.math.cumsum, capacity masking with tf.math.less,
    add_loss of the load-balancing loss), ``Switch`` (tf.reshape to the global
    num_tokens_per_batch, tf.einsum dispatch, tf.unstack to the experts, tf.stack,
    tf.einsum combine); the example fixes the batch size (the reshape uses it), so the
    Input says batch_size=2 and dtype int32 (token ids); 4 experts, 8 tokens."""
    _, TokenAndPositionEmbedding = _text_classification_blocks()
    vocab_size = 20
    num_tokens_per_example = 8
    embed_dim = 8
    num_heads = 2
    ff_dim = 8
    num_experts = 4
    batch_size = 2
    dropout_rate = 0.25
    num_tokens_per_batch = batch_size * num_tokens_per_example

    def create_feedforward_network(ff_dim, name=None):
        return keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(ff_dim)], name=name
        )

    def load_balanced_loss(router_probs, expert_mask):
        # router_probs [tokens_per_batch, num_experts] is the probability assigned for
        # each expert per token. expert_mask [tokens_per_batch, num_experts] contains
        # the expert with the highest router probability in one−hot format.

        num_experts = tf.shape(expert_mask)[-1]
        # Get the fraction of tokens routed to each expert.
        # density is a vector of length num experts that sums to 1.
        density = tf.reduce_mean(expert_mask, axis=0)
        # Get fraction of probability mass assigned to each expert from the router
        # across all tokens. density_proxy is a vector of length num experts that sums to 1.
        density_proxy = tf.reduce_mean(router_probs, axis=0)
        # Want both vectors to have uniform allocation (1/num experts) across all
        # num_expert elements. The two vectors will be pushed towards uniform allocation
        # when the dot product is minimized.
        loss = tf.reduce_mean(density_proxy * density) * tf.cast(
            (num_experts**2), tf.dtypes.float32
        )
        return loss

    class Router(layers.Layer):
        def __init__(self, num_experts, expert_capacity):
            self.num_experts = num_experts
            self.route = layers.Dense(units=num_experts)
            self.expert_capacity = expert_capacity
            super().__init__()

        def call(self, inputs, training=False):
            # inputs shape: [tokens_per_batch, embed_dim]
            # router_logits shape: [tokens_per_batch, num_experts]
            router_logits = self.route(inputs)

            if training:
                # Add noise for exploration across experts.
                router_logits += tf.random.uniform(
                    shape=router_logits.shape, minval=1 - 1e-2, maxval=1 + 1e-2
                )
            # Probabilities for each token of what expert it should be sent to.
            router_probs = keras.activations.softmax(router_logits, axis=-1)
            # Get the top−1 expert for each token. expert_gate is the top−1 probability
            # from the router for each token. expert_index is what expert each token
            # is going to be routed to.
            expert_gate, expert_index = tf.math.top_k(router_probs, k=1)
            # expert_mask shape: [tokens_per_batch, num_experts]
            expert_mask = tf.one_hot(expert_index, depth=self.num_experts)
            # Compute load balancing loss.
            aux_loss = load_balanced_loss(router_probs, expert_mask)
            self.add_loss(aux_loss)
            # Experts have a fixed capacity, ensure we do not exceed it. Construct
            # the batch indices, to each expert, with position in expert make sure that
            # not more that expert capacity examples can be routed to each expert.
            position_in_expert = tf.cast(
                tf.math.cumsum(expert_mask, axis=0) * expert_mask, tf.dtypes.int32
            )
            # Keep only tokens that fit within expert capacity.
            expert_mask *= tf.cast(
                tf.math.less(
                    tf.cast(position_in_expert, tf.dtypes.int32), self.expert_capacity
                ),
                tf.dtypes.float32,
            )
            expert_mask_flat = tf.reduce_sum(expert_mask, axis=-1)
            # Mask out the experts that have overflowed the expert capacity.
            expert_gate *= expert_mask_flat
            # Combine expert outputs and scaling with router probability.
            # combine_tensor shape: [tokens_per_batch, num_experts, expert_capacity]
            combined_tensor = tf.expand_dims(
                expert_gate
                * expert_mask_flat
                * tf.squeeze(tf.one_hot(expert_index, depth=self.num_experts), 1),
                -1,
            ) * tf.squeeze(tf.one_hot(position_in_expert, depth=self.expert_capacity), 1)
            # Create binary dispatch_tensor [tokens_per_batch, num_experts, expert_capacity]
            # that is 1 if the token gets routed to the corresponding expert.
            dispatch_tensor = tf.cast(combined_tensor, tf.dtypes.float32)

            return dispatch_tensor, combined_tensor

    class Switch(layers.Layer):
        def __init__(self, num_experts, embed_dim, num_tokens_per_batch, capacity_factor=1):
            self.num_experts = num_experts
            self.embed_dim = embed_dim
            self.experts = [
                create_feedforward_network(embed_dim) for _ in range(num_experts)
            ]

            self.expert_capacity = num_tokens_per_batch // self.num_experts
            self.router = Router(self.num_experts, self.expert_capacity)
            super().__init__()

        def call(self, inputs):
            batch_size = tf.shape(inputs)[0]
            num_tokens_per_example = tf.shape(inputs)[1]

            # inputs shape: [num_tokens_per_batch, embed_dim]
            inputs = tf.reshape(inputs, [num_tokens_per_batch, self.embed_dim])
            # dispatch_tensor shape: [expert_capacity, num_experts, tokens_per_batch]
            # combine_tensor shape: [tokens_per_batch, num_experts, expert_capacity]
            dispatch_tensor, combine_tensor = self.router(inputs)
            # expert_inputs shape: [num_experts, expert_capacity, embed_dim]
            expert_inputs = tf.einsum("ab,acd->cdb", inputs, dispatch_tensor)
            expert_inputs = tf.reshape(
                expert_inputs, [self.num_experts, self.expert_capacity, self.embed_dim]
            )
            # Dispatch to experts
            expert_input_list = tf.unstack(expert_inputs, axis=0)
            expert_output_list = [
                self.experts[idx](expert_input)
                for idx, expert_input in enumerate(expert_input_list)
            ]
            # expert_outputs shape: [expert_capacity, num_experts, embed_dim]
            expert_outputs = tf.stack(expert_output_list, axis=1)
            # expert_outputs_combined shape: [tokens_per_batch, embed_dim]
            expert_outputs_combined = tf.einsum(
                "abc,xba->xc", expert_outputs, combine_tensor
            )
            # output shape: [batch_size, num_tokens_per_example, embed_dim]
            outputs = tf.reshape(
                expert_outputs_combined,
                [batch_size, num_tokens_per_example, self.embed_dim],
            )
            return outputs

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ffn, dropout_rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            # The ffn can be either a standard feedforward network or a switch
            # layer with a Mixture of Experts.
            self.ffn = ffn
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(dropout_rate)
            self.dropout2 = layers.Dropout(dropout_rate)

        def call(self, inputs, training=None):
            attn_output = self.att(inputs, inputs)
            attn_output = self.dropout1(attn_output, training=training)
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output, training=training)
            return self.layernorm2(out1 + ffn_output)

    def create_classifier():
        switch = Switch(num_experts, embed_dim, num_tokens_per_batch)
        transformer_block = TransformerBlock(ff_dim, num_heads, switch)

        inputs = layers.Input(shape=(num_tokens_per_example,), batch_size=batch_size,
                              dtype="int32")
        embedding_layer = TokenAndPositionEmbedding(
            num_tokens_per_example, vocab_size, embed_dim
        )
        x = embedding_layer(inputs)
        x = transformer_block(x)
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dropout(dropout_rate)(x)
        x = layers.Dense(ff_dim, activation="relu")(x)
        x = layers.Dropout(dropout_rate)(x)
        outputs = layers.Dense(2, activation="softmax")(x)

        classifier = keras.Model(inputs=inputs, outputs=outputs)
        return classifier

    return create_classifier()


@model
def english_spanish_transformer():
    """keras.io nlp/neural_machine_translation_with_transformer, TF version:
    ``PositionalEmbedding`` (tf.shape(inputs)[-1], tf.range; ``compute_mask``'s
    tf.math.not_equal is keras.ops.not_equal, as Keras 3 calls it on KerasTensors),
    ``TransformerEncoder`` (padding mask tf.cast(mask[:,
    tf.newaxis, :])), ``TransformerDecoder`` (``get_causal_attention_mask`` with tf.range,
    tf.cast, tf.reshape, tf.concat, tf.tile; tf.minimum with the padding mask), the
    encoder / decoder functional models and the joined ``transformer``; Keras 3 builds
    the layers by tracing ``call`` without a mask, so ``padding_mask`` gets an ``else:
    None``; int64 inputs of
    unknown length; the position table is 32 long (the probe's unknown length)."""
    vocab_size = 20
    sequence_length = 32
    embed_dim = 8
    latent_dim = 16
    num_heads = 2

    class TransformerEncoder(layers.Layer):
        def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.embed_dim = embed_dim
            self.dense_dim = dense_dim
            self.num_heads = num_heads
            self.attention = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=embed_dim
            )
            self.dense_proj = keras.Sequential(
                [layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)]
            )
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            if mask is not None:
                padding_mask = tf.cast(mask[:, tf.newaxis, :], dtype="int32")
            else:  # Keras 3 traces the call once without a mask
                padding_mask = None
            attention_output = self.attention(
                query=inputs, value=inputs, key=inputs, attention_mask=padding_mask
            )
            proj_input = self.layernorm_1(inputs + attention_output)
            proj_output = self.dense_proj(proj_input)
            return self.layernorm_2(proj_input + proj_output)

    class PositionalEmbedding(layers.Layer):
        def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_embeddings = layers.Embedding(
                input_dim=vocab_size, output_dim=embed_dim
            )
            self.position_embeddings = layers.Embedding(
                input_dim=sequence_length, output_dim=embed_dim
            )
            self.sequence_length = sequence_length
            self.vocab_size = vocab_size
            self.embed_dim = embed_dim

        def call(self, inputs):
            length = tf.shape(inputs)[-1]
            positions = tf.range(start=0, limit=length, delta=1)
            embedded_tokens = self.token_embeddings(inputs)
            embedded_positions = self.position_embeddings(positions)
            return embedded_tokens + embedded_positions

        def compute_mask(self, inputs, mask=None):
            return keras.ops.not_equal(inputs, 0)  # Keras 3: called on KerasTensors

    class TransformerDecoder(layers.Layer):
        def __init__(self, embed_dim, latent_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.embed_dim = embed_dim
            self.latent_dim = latent_dim
            self.num_heads = num_heads
            self.attention_1 = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=embed_dim
            )
            self.attention_2 = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=embed_dim
            )
            self.dense_proj = keras.Sequential(
                [layers.Dense(latent_dim, activation="relu"), layers.Dense(embed_dim)]
            )
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()
            self.layernorm_3 = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, inputs, encoder_outputs, mask=None):
            causal_mask = self.get_causal_attention_mask(inputs)
            if mask is not None:
                padding_mask = tf.cast(mask[:, tf.newaxis, :], dtype="int32")
                padding_mask = tf.minimum(padding_mask, causal_mask)
            else:  # Keras 3 traces the call once without a mask
                padding_mask = None

            attention_output_1 = self.attention_1(
                query=inputs, value=inputs, key=inputs, attention_mask=causal_mask
            )
            out_1 = self.layernorm_1(inputs + attention_output_1)

            attention_output_2 = self.attention_2(
                query=out_1,
                value=encoder_outputs,
                key=encoder_outputs,
                attention_mask=padding_mask,
            )
            out_2 = self.layernorm_2(out_1 + attention_output_2)

            proj_output = self.dense_proj(out_2)
            return self.layernorm_3(out_2 + proj_output)

        def get_causal_attention_mask(self, inputs):
            input_shape = tf.shape(inputs)
            batch_size, sequence_length = input_shape[0], input_shape[1]
            i = tf.range(sequence_length)[:, tf.newaxis]
            j = tf.range(sequence_length)
            mask = tf.cast(i >= j, dtype="int32")
            mask = tf.reshape(mask, (1, input_shape[1], input_shape[1]))
            mult = tf.concat(
                [tf.expand_dims(batch_size, -1), tf.constant([1, 1], dtype=tf.int32)],
                axis=0,
            )
            return tf.tile(mask, mult)

    encoder_inputs = keras.Input(shape=(None,), dtype="int64", name="encoder_inputs")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(encoder_inputs)
    encoder_outputs = TransformerEncoder(embed_dim, latent_dim, num_heads)(x)
    encoder = keras.Model(encoder_inputs, encoder_outputs)  # noqa: F841 (as the example)

    decoder_inputs = keras.Input(shape=(None,), dtype="int64", name="decoder_inputs")
    encoded_seq_inputs = keras.Input(shape=(None, embed_dim), name="decoder_state_inputs")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(decoder_inputs)
    x = TransformerDecoder(embed_dim, latent_dim, num_heads)(x, encoded_seq_inputs)
    x = layers.Dropout(0.5)(x)
    decoder_outputs = layers.Dense(vocab_size, activation="softmax")(x)
    decoder = keras.Model([decoder_inputs, encoded_seq_inputs], decoder_outputs)

    decoder_outputs = decoder([decoder_inputs, encoder_outputs])
    transformer = keras.Model(
        [encoder_inputs, decoder_inputs], decoder_outputs, name="transformer"
    )
    return transformer


@model
def transformer_asr():
    """keras.io audio/transformer_asr: the subclassed ``Transformer`` with
    ``SpeechFeatureEmbedding`` (three strided Conv1D), ``TokenEmbedding`` (tf.shape,
    tf.range), a ``keras.Sequential`` encoder of ``TransformerEncoder`` (call(inputs,
    training)), ``TransformerDecoder`` with ``causal_attention_mask`` (tf.range, tf.cast,
    tf.reshape, tf.concat, tf.tile) set as attributes with setattr (Keras 3 wants
    ``training=None`` as a default in TransformerEncoder.call); inputs [source
    (32, 12) float32, target (8,) int32]; num_hid 8, one encoder and one decoder layer."""
    class TokenEmbedding(layers.Layer):
        def __init__(self, num_vocab=1000, maxlen=100, num_hid=64):
            super().__init__()
            self.emb = tf.keras.layers.Embedding(num_vocab, num_hid)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=num_hid)

        def call(self, x):
            maxlen = tf.shape(x)[-1]
            x = self.emb(x)
            positions = tf.range(start=0, limit=maxlen, delta=1)
            positions = self.pos_emb(positions)
            return x + positions

    class SpeechFeatureEmbedding(layers.Layer):
        def __init__(self, num_hid=64, maxlen=100):
            super().__init__()
            self.conv1 = tf.keras.layers.Conv1D(
                num_hid, 11, strides=2, padding="same", activation="relu"
            )
            self.conv2 = tf.keras.layers.Conv1D(
                num_hid, 11, strides=2, padding="same", activation="relu"
            )
            self.conv3 = tf.keras.layers.Conv1D(
                num_hid, 11, strides=2, padding="same", activation="relu"
            )

        def call(self, x):
            x = self.conv1(x)
            x = self.conv2(x)
            return self.conv3(x)

    class TransformerEncoder(layers.Layer):
        def __init__(self, embed_dim, num_heads, feed_forward_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential(
                [
                    layers.Dense(feed_forward_dim, activation="relu"),
                    layers.Dense(embed_dim),
                ]
            )
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs, training=None):
            attn_output = self.att(inputs, inputs)
            attn_output = self.dropout1(attn_output, training=training)
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output, training=training)
            return self.layernorm2(out1 + ffn_output)

    class TransformerDecoder(layers.Layer):
        def __init__(self, embed_dim, num_heads, feed_forward_dim, dropout_rate=0.1):
            super().__init__()
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm3 = layers.LayerNormalization(epsilon=1e-6)
            self.self_att = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=embed_dim
            )
            self.enc_att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.self_dropout = layers.Dropout(0.5)
            self.enc_dropout = layers.Dropout(0.1)
            self.ffn_dropout = layers.Dropout(0.1)
            self.ffn = keras.Sequential(
                [
                    layers.Dense(feed_forward_dim, activation="relu"),
                    layers.Dense(embed_dim),
                ]
            )

        def causal_attention_mask(self, batch_size, n_dest, n_src, dtype):
            """Masks the upper half of the dot product matrix in self attention.

            This prevents flow of information from future tokens to current token.
            1's in the lower triangle, counting from the lower right corner.
            """
            i = tf.range(n_dest)[:, None]
            j = tf.range(n_src)
            m = i >= j - n_src + n_dest
            mask = tf.cast(m, dtype)
            mask = tf.reshape(mask, [1, n_dest, n_src])
            mult = tf.concat(
                [tf.expand_dims(batch_size, -1), tf.constant([1, 1], dtype=tf.int32)], 0
            )
            return tf.tile(mask, mult)

        def call(self, enc_out, target):
            input_shape = tf.shape(target)
            batch_size = input_shape[0]
            seq_len = input_shape[1]
            causal_mask = self.causal_attention_mask(batch_size, seq_len, seq_len, tf.bool)
            target_att = self.self_att(target, target, attention_mask=causal_mask)
            target_norm = self.layernorm1(target + self.self_dropout(target_att))
            enc_out = self.enc_att(target_norm, enc_out)
            enc_out_norm = self.layernorm2(self.enc_dropout(enc_out) + target_norm)
            ffn_out = self.ffn(enc_out_norm)
            ffn_out_norm = self.layernorm3(enc_out_norm + self.ffn_dropout(ffn_out))
            return ffn_out_norm

    class Transformer(keras.Model):
        def __init__(self, num_hid=64, num_head=2, num_feed_forward=128, source_maxlen=100,
                     target_maxlen=100, num_layers_enc=4, num_layers_dec=1,
                     num_classes=10):
            super().__init__()
            self.loss_metric = keras.metrics.Mean(name="loss")
            self.num_layers_enc = num_layers_enc
            self.num_layers_dec = num_layers_dec
            self.target_maxlen = target_maxlen
            self.num_classes = num_classes

            self.enc_input = SpeechFeatureEmbedding(num_hid=num_hid, maxlen=source_maxlen)
            self.dec_input = TokenEmbedding(
                num_vocab=num_classes, maxlen=target_maxlen, num_hid=num_hid
            )

            self.encoder = keras.Sequential(
                [self.enc_input]
                + [
                    TransformerEncoder(num_hid, num_head, num_feed_forward)
                    for _ in range(num_layers_enc)
                ]
            )

            for i in range(num_layers_dec):
                setattr(
                    self,
                    f"dec_layer_{i}",
                    TransformerDecoder(num_hid, num_head, num_feed_forward),
                )

            self.classifier = layers.Dense(num_classes)

        def decode(self, enc_out, target):
            y = self.dec_input(target)
            for i in range(self.num_layers_dec):
                y = getattr(self, f"dec_layer_{i}")(enc_out, y)
            return y

        def call(self, inputs):
            source = inputs[0]
            target = inputs[1]
            x = self.encoder(source)
            y = self.decode(x, target)
            return self.classifier(y)

    m = Transformer(num_hid=8, num_head=2, num_feed_forward=16, source_maxlen=32,
                    target_maxlen=8, num_layers_enc=1, num_layers_dec=1, num_classes=10)
    m([np.zeros((1, 32, 12), "float32"), np.zeros((1, 8), "int32")])
    m.probe_specs = [((32, 12), "float32"), ((8,), "int32")]
    return m


@model
def video_transformer():
    """keras.io vision/video_transformers: ``PositionalEmbedding`` (tf.shape(inputs)[1],
    tf.range; ``compute_mask``'s tf.reduce_any(tf.cast(inputs, "bool")) written with
    keras.ops, as Keras 3 calls it on KerasTensors),
    ``TransformerEncoder`` taking the mask as mask[:, tf.newaxis, :] and
    Dense(activation=tf.nn.gelu); the example's Input(shape=(None, None)) cannot build
    Dense layers in Keras 3, so the feature size is given (16); frames of unknown count,
    the position table 32 long."""
    MAX_SEQ_LENGTH = 32
    NUM_FEATURES = 16

    class PositionalEmbedding(layers.Layer):
        def __init__(self, sequence_length, output_dim, **kwargs):
            super().__init__(**kwargs)
            self.position_embeddings = layers.Embedding(
                input_dim=sequence_length, output_dim=output_dim
            )
            self.sequence_length = sequence_length
            self.output_dim = output_dim

        def call(self, inputs):
            # The inputs are of shape: `(batch_size, frames, num_features)`
            length = tf.shape(inputs)[1]
            positions = tf.range(start=0, limit=length, delta=1)
            embedded_positions = self.position_embeddings(positions)
            return inputs + embedded_positions

        def compute_mask(self, inputs, mask=None):
            # Keras 3 calls compute_mask on KerasTensors: keras.ops, not tf
            mask = keras.ops.any(keras.ops.cast(inputs, "bool"), axis=-1)
            return mask

    class TransformerEncoder(layers.Layer):
        def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.embed_dim = embed_dim
            self.dense_dim = dense_dim
            self.num_heads = num_heads
            self.attention = layers.MultiHeadAttention(
                num_heads=num_heads, key_dim=embed_dim, dropout=0.3
            )
            self.dense_proj = keras.Sequential(
                [layers.Dense(dense_dim, activation=tf.nn.gelu), layers.Dense(embed_dim)]
            )
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()

        def call(self, inputs, mask=None):
            if mask is not None:
                mask = mask[:, tf.newaxis, :]

            attention_output = self.attention(inputs, inputs, attention_mask=mask)
            proj_input = self.layernorm_1(inputs + attention_output)
            proj_output = self.dense_proj(proj_input)
            return self.layernorm_2(proj_input + proj_output)

    def get_compiled_model():
        sequence_length = MAX_SEQ_LENGTH
        embed_dim = NUM_FEATURES
        dense_dim = 4
        num_heads = 1
        classes = 5

        inputs = keras.Input(shape=(None, NUM_FEATURES))
        x = PositionalEmbedding(
            sequence_length, embed_dim, name="frame_position_embedding"
        )(inputs)
        x = TransformerEncoder(embed_dim, dense_dim, num_heads, name="transformer_layer")(x)
        x = layers.GlobalMaxPooling1D()(x)
        x = layers.Dropout(0.5)(x)
        outputs = layers.Dense(classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        return model

    return get_compiled_model()


# --------------------------------------------------------------------------------------
# graphs
# --------------------------------------------------------------------------------------

@model
def gat_fixed_graph():
    """keras.io graph/gat_node_classification: ``GraphAttention`` (tf.matmul, tf.gather
    of the edge endpoints, tf.nn.leaky_relu, tf.clip_by_value, tf.math.exp,
    tf.math.unsorted_segment_sum, tf.repeat by tf.math.bincount) and
    ``MultiHeadGraphAttention`` (tf.concat, tf.nn.relu), with the layers of
    ``GraphAttentionNetwork.call`` written as a functional model whose batch axis is the
    node axis (as in the example, one row per node) over a fixed 2-node edge list held as
    a tf.constant; 2 heads of 4 units, 2 layers."""
    hidden_units = 4
    num_heads = 2
    num_layers = 2
    output_dim = 3
    num_features = 6
    edges = tf.constant([[0, 0], [0, 1], [1, 0], [1, 1]])

    class GraphAttention(layers.Layer):
        def __init__(self, units, kernel_initializer="glorot_uniform",
                     kernel_regularizer=None, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.kernel_initializer = keras.initializers.get(kernel_initializer)
            self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

        def build(self, input_shape):
            self.kernel = self.add_weight(
                shape=(input_shape[0][-1], self.units),
                trainable=True,
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                name="kernel",
            )
            self.kernel_attention = self.add_weight(
                shape=(self.units * 2, 1),
                trainable=True,
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                name="kernel_attention",
            )
            self.built = True

        def call(self, inputs):
            node_states, edges = inputs

            # Linearly transform node states
            node_states_transformed = tf.matmul(node_states, self.kernel)

            # (1) Compute pair-wise attention scores
            node_states_expanded = tf.gather(node_states_transformed, edges)
            node_states_expanded = tf.reshape(
                node_states_expanded, (tf.shape(edges)[0], -1)
            )
            attention_scores = tf.nn.leaky_relu(
                tf.matmul(node_states_expanded, self.kernel_attention)
            )
            attention_scores = tf.squeeze(attention_scores, -1)

            # (2) Normalize attention scores
            attention_scores = tf.math.exp(tf.clip_by_value(attention_scores, -2, 2))
            attention_scores_sum = tf.math.unsorted_segment_sum(
                data=attention_scores,
                segment_ids=edges[:, 0],
                num_segments=tf.reduce_max(edges[:, 0]) + 1,
            )
            attention_scores_sum = tf.repeat(
                attention_scores_sum, tf.math.bincount(tf.cast(edges[:, 0], "int32"))
            )
            attention_scores_norm = attention_scores / attention_scores_sum

            # (3) Gather node states of neighbors, apply attention scores and aggregate
            node_states_neighbors = tf.gather(node_states_transformed, edges[:, 1])
            out = tf.math.unsorted_segment_sum(
                data=node_states_neighbors * attention_scores_norm[:, tf.newaxis],
                segment_ids=edges[:, 0],
                num_segments=tf.shape(node_states)[0],
            )
            return out

    class MultiHeadGraphAttention(layers.Layer):
        def __init__(self, units, num_heads=8, merge_type="concat", **kwargs):
            super().__init__(**kwargs)
            self.num_heads = num_heads
            self.merge_type = merge_type
            self.attention_layers = [GraphAttention(units) for _ in range(num_heads)]

        def call(self, inputs):
            atom_features, pair_indices = inputs

            # Obtain outputs from each attention head
            outputs = [
                attention_layer([atom_features, pair_indices])
                for attention_layer in self.attention_layers
            ]
            # Concatenate or average the node states from each head
            if self.merge_type == "concat":
                outputs = tf.concat(outputs, axis=-1)
            else:
                outputs = tf.reduce_mean(tf.stack(outputs, axis=-1), axis=-1)
            # Activate and return node states
            return tf.nn.relu(outputs)

    # GraphAttentionNetwork.call, functional: preprocess, attention layers with a
    # residual, output layer
    node_states = keras.Input(shape=(num_features,))
    x = layers.Dense(hidden_units * num_heads, activation="relu")(node_states)
    for _ in range(num_layers):
        x = MultiHeadGraphAttention(hidden_units, num_heads)([x, edges]) + x
    outputs = layers.Dense(output_dim)(x)
    return keras.Model(node_states, outputs)


@model
def traffic_forecasting_lstmgc():
    """keras.io timeseries/timeseries_traffic_forecasting: ``GraphInfo``, ``GraphConv``
    (a tf.Variable weight, tf.matmul, tf.gather of neighbours,
    tf.math.unsorted_segment_mean, tf.concat) and ``LSTMGC`` (tf.transpose to
    nodes-first, tf.shape, tf.reshape to (batch*nodes, time, feat) for an LSTM, reshape
    and transpose back) on a fixed 4-node ring graph; 8 input steps, horizon 3."""
    class GraphInfo:
        def __init__(self, edges: typing.Tuple[list, list], num_nodes: int):
            self.edges = edges
            self.num_nodes = num_nodes

    class GraphConv(layers.Layer):
        def __init__(self, in_feat, out_feat, graph_info: GraphInfo,
                     aggregation_type="mean", combination_type="concat",
                     activation: typing.Optional[str] = None, **kwargs):
            super().__init__(**kwargs)
            self.in_feat = in_feat
            self.out_feat = out_feat
            self.graph_info = graph_info
            self.aggregation_type = aggregation_type
            self.combination_type = combination_type
            self.weight = tf.Variable(
                initial_value=keras.initializers.glorot_uniform()(
                    shape=(in_feat, out_feat), dtype="float32"
                ),
                trainable=True,
            )
            self.activation = layers.Activation(activation)

        def aggregate(self, neighbour_representations: tf.Tensor):
            aggregation_func = {
                "sum": tf.math.unsorted_segment_sum,
                "mean": tf.math.unsorted_segment_mean,
                "max": tf.math.unsorted_segment_max,
            }.get(self.aggregation_type)

            if aggregation_func:
                return aggregation_func(
                    neighbour_representations,
                    self.graph_info.edges[0],
                    num_segments=self.graph_info.num_nodes,
                )

            raise ValueError(f"Invalid aggregation type: {self.aggregation_type}")

        def compute_nodes_representation(self, features: tf.Tensor):
            return tf.matmul(features, self.weight)

        def compute_aggregated_messages(self, features: tf.Tensor):
            neighbour_representations = tf.gather(features, self.graph_info.edges[1])
            aggregated_messages = self.aggregate(neighbour_representations)
            return tf.matmul(aggregated_messages, self.weight)

        def update(self, nodes_representation: tf.Tensor, aggregated_messages: tf.Tensor):
            if self.combination_type == "concat":
                h = tf.concat([nodes_representation, aggregated_messages], axis=-1)
            elif self.combination_type == "add":
                h = nodes_representation + aggregated_messages
            else:
                raise ValueError(f"Invalid combination type: {self.combination_type}.")

            return self.activation(h)

        def call(self, features: tf.Tensor):
            nodes_representation = self.compute_nodes_representation(features)
            aggregated_messages = self.compute_aggregated_messages(features)
            return self.update(nodes_representation, aggregated_messages)

    class LSTMGC(layers.Layer):
        def __init__(self, in_feat, out_feat, lstm_units: int, input_seq_len: int,
                     output_seq_len: int, graph_info: GraphInfo,
                     graph_conv_params: typing.Optional[dict] = None, **kwargs):
            super().__init__(**kwargs)

            # graph conv layer
            if graph_conv_params is None:
                graph_conv_params = {
                    "aggregation_type": "mean",
                    "combination_type": "concat",
                    "activation": None,
                }
            self.graph_conv = GraphConv(in_feat, out_feat, graph_info, **graph_conv_params)

            self.lstm = layers.LSTM(lstm_units, activation="relu")
            self.dense = layers.Dense(output_seq_len)

            self.input_seq_len, self.output_seq_len = input_seq_len, output_seq_len

        def call(self, inputs):
            # convert shape to  (num_nodes, batch_size, input_seq_len, in_feat)
            inputs = tf.transpose(inputs, [2, 0, 1, 3])

            gcn_out = self.graph_conv(
                inputs
            )  # gcn_out has shape: (num_nodes, batch_size, input_seq_len, out_feat)
            shape = tf.shape(gcn_out)
            num_nodes, batch_size, input_seq_len, out_feat = (
                shape[0],
                shape[1],
                shape[2],
                shape[3],
            )

            # LSTM takes only 3D tensors as input
            gcn_out = tf.reshape(gcn_out, (batch_size * num_nodes, input_seq_len, out_feat))
            lstm_out = self.lstm(
                gcn_out
            )  # lstm_out has shape: (batch_size * num_nodes, lstm_units)

            dense_output = self.dense(
                lstm_out
            )  # dense_output has shape: (batch_size * num_nodes, output_seq_len)
            output = tf.reshape(dense_output, (num_nodes, batch_size, self.output_seq_len))
            return tf.transpose(
                output, [1, 2, 0]
            )  # returns Tensor of shape (batch_size, output_seq_len, num_nodes)

    node_indices = [0, 1, 1, 2, 2, 3, 3, 0]
    neighbor_indices = [1, 0, 2, 1, 3, 2, 0, 3]
    graph = GraphInfo(
        edges=(node_indices, neighbor_indices),
        num_nodes=4,
    )

    in_feat = 1
    input_sequence_length = 8
    forecast_horizon = 3
    out_feat = 4
    lstm_units = 8
    graph_conv_params = {
        "aggregation_type": "mean",
        "combination_type": "concat",
        "activation": None,
    }

    st_gcn = LSTMGC(in_feat, out_feat, lstm_units, input_sequence_length,
                    forecast_horizon, graph, graph_conv_params)
    inputs = layers.Input((input_sequence_length, graph.num_nodes, in_feat))
    outputs = st_gcn(inputs)

    return keras.models.Model(inputs, outputs)
