"""Sequence ops: RepeatVector, and the folding of a time axis into the batch axis that TimeDistributed lowers to."""

from __future__ import annotations
