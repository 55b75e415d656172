# Two commands on a fresh machine:  `make demo` (train on CoinRun + dream)  and  `make test`.
# CPU PyTorch is pinned (torch==2.13.0) unless an NVIDIA GPU is visible; see README "GPU".
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_CPU ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: demo test install dev benchmark clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
		echo "NVIDIA GPU found: installing the default (CUDA) PyTorch build"; \
		$(PY) -m pip install --quiet torch; \
	else \
		echo "no GPU: installing CPU PyTorch ($(TORCH_CPU))"; \
		$(PY) -m pip install --quiet "$(TORCH_CPU)"; \
	fi
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) train.py $(ARGS)

test: $(STAMP)
	@sh scripts/install_chromium.sh
	$(PY) -m pytest -q $(ARGS)

benchmark: $(STAMP)
	$(PY) benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) runs outputs multirun .pytest_cache
