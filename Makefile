# Two commands on a fresh machine:
#   make quickstart   environment (when missing) + the synthetic quickstart
#   make test         environment (when missing) + the test suite (what CI runs)
#   make gpu-check    on a CUDA machine: CPU-vs-CUDA agreement, CUDA tests and benchmarks ->
#                     gpu_report.md (docs/gpu-check.md); without CUDA one line, exit 0
# The environment is a virtual environment in .venv with the pinned CPU build of torch (from
# PyTorch's CPU wheel index, so no CUDA packages are pulled), then requirements.txt.
# For a CUDA build: make test TORCH_INDEX=https://download.pytorch.org/whl/cu121
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
BIN := $(VENV)/bin

.PHONY: env quickstart test gpu-check clean-env

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --retries 1 torch==$(TORCH_VERSION) --extra-index-url $(TORCH_INDEX)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)"
	touch $@

quickstart: env
	$(BIN)/python main_thu.py --synthetic --overwrite

test: env
	$(BIN)/python -m pytest -q tests

gpu-check: env
	$(BIN)/python -m tools.gpu_check --out gpu_report.md

clean-env:
	rm -rf $(VENV)
