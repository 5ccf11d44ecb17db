"""Converters of LSTM, GRU and RNN (filled below)."""
