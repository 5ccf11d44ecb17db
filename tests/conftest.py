"""Top-level test configuration.

TensorFlow's start-up chatter is silenced for the whole session (tests only).
Keras models are built once per session in the backend folders' fixtures.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
