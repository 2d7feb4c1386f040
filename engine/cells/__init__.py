"""Recurrent cells (RNN, LSTM, GRU) with a recorded forward pass and per-step BPTT."""

from engine.cells.gru import GRU
from engine.cells.lstm import LSTM
from engine.cells.rnn import RNN

__all__ = ["GRU", "LSTM", "RNN"]
