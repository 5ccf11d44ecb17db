"""Attention ops: Keras MultiHeadAttention."""

from __future__ import annotations
