# graphir — two entry points: `make demo` and `make test`.
# Both create .venv (Python 3.11) if missing and install the project into it.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.graphir-installed

.PHONY: demo test install bench bench-examples bench-hub bench-passes bench-verify bench-verify-apps conformance clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/graphir demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/convert_speed.py

# keras.io-style model definitions through graphir and tf2onnx: conversion rates
bench-examples: $(STAMP)
	for m in keras_examples keras_examples_more keras_examples_third keras_examples_fourth keras_examples_fifth \
		keras_examples_tf heldout_style_models \
		tf2onnx_keras_tests hub_and_masks_models hub_backbones_more; do \
		$(BIN)/python benchmarks/keras_examples_probe.py --module $$m --fresh-process || exit 1; done

bench-hub: $(STAMP)
	$(BIN)/python benchmarks/hub_speed.py

bench-passes: $(STAMP)
	$(BIN)/python benchmarks/passes_scaling.py

bench-verify: $(STAMP)
	$(BIN)/python benchmarks/verify_speed.py

bench-verify-apps: $(STAMP)
	$(BIN)/python benchmarks/verify_applications.py

# ONNX node tests of ../shared/onnx/target-tests.txt through the importer: passed/failed/xfail
# per mode (reference interpreter; Keras emitted and run by TensorFlow); MODE=interpreter,
# keras or all (default)
conformance: $(STAMP)
	$(BIN)/python -m graphir.backends.onnx_conformance $(or $(LIST),../shared/onnx/target-tests.txt) --mode $(or $(MODE),all)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
