"""Recurrent ops: LSTM, GRU and SimpleRNN layers, one direction or both (Keras Bidirectional)."""

from __future__ import annotations
