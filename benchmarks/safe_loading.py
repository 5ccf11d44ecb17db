"""The cost of graphir's checked ``.keras`` loading against Keras' own
``keras.saving.load_model(path, compile=False, safe_mode=True)``, measured in the same
process on the same files (keras.applications, ``weights=None``, seeded).

graphir's loader pre-scans the zip and ``config.json``, checks the HDF5 weights file,
builds the model once without allocating its variables (the declared sizes) and once
for real, then loads the weights; the ratio is what that safety costs.

    .venv/bin/python benchmarks/safe_loading.py [--models MobileNetV2 ResNet50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchlib import machine, median, print_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["MobileNetV2", "ResNet50"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from graphir.backends.keras.loading import load_keras_model

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            keras.utils.set_random_seed(0)
            path = Path(folder) / f"{name}.keras"
            getattr(keras.applications, name)(weights=None).save(path)
            anchor, ours = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                keras.saving.load_model(path, compile=False, safe_mode=True)
                anchor.append(time.perf_counter() - t)
                t = time.perf_counter()
                load_keras_model(path)
                ours.append(time.perf_counter() - t)
            rows.append([name, f"{path.stat().st_size / 2 ** 20:.0f} MiB",
                         f"{median(anchor):.2f}", f"{median(ours):.2f}",
                         f"{median(ours) / median(anchor):.2f}x"])
    print_report(machine(["keras", "h5py"]),
                 [("checked loading vs keras.saving.load_model (median seconds)",
                   ["model", "file", "keras", "graphir", "ratio"], rows)],
                 ["graphir's checks cost at most 2x Keras' own safe_mode loading"])


if __name__ == "__main__":
    main()
