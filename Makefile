# Two commands on a fresh machine:  `make demo` (train on CoinRun + dream)  and  `make test`.
# CPU PyTorch is pinned (torch==2.13.0) unless an NVIDIA GPU is visible; see docs/install.md and docs/scaling.md.
# Every other package is installed at the version the tests passed with: constraints.txt (docs/install.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_CPU ?= torch==2.13.0
CONSTRAINTS ?= constraints.txt
PIN    := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
STAMP  := $(VENV)/.installed

.PHONY: demo test install dev benchmark constraints clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
		echo "NVIDIA GPU found: installing the default (CUDA) PyTorch build"; \
		$(PY) -m pip install --quiet $(PIN) torch; \
	else \
		echo "no GPU: installing CPU PyTorch ($(TORCH_CPU))"; \
		$(PY) -m pip install --quiet $(PIN) "$(TORCH_CPU)"; \
	fi
	$(PY) -m pip install --quiet $(PIN) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) train.py $(ARGS)

test: $(STAMP)
	@sh scripts/install_chromium.sh
	$(PY) -m pytest -q $(ARGS)

benchmark: $(STAMP)
	$(PY) benchmarks/run.py $(ARGS)

# Record this venv's versions as the known-good set (run after `make test` passes): all but torch (pinned above for
# CPU, free on a GPU) and this project.
constraints: $(STAMP)
	@{ echo "# Known-good: the versions of the venv the test suite ran in (refresh: make constraints). $$($(PY) -c 'import platform; print("Python", platform.python_version(), platform.system(), platform.machine())')"; \
	  $(PY) -m pip freeze --exclude-editable | grep -viE '^(torch|mini-genie)=='; } > constraints.txt
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) packages"

clean:
	rm -rf $(VENV) runs outputs multirun .pytest_cache
