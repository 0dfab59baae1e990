# dronefront: `make demo` runs the main job, `make test` runs the whole suite.
# Both create .venv, install everything and compile the engine's kernels on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench validation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,test]'
	$(BIN)/dronefront warmup
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dronefront campaign kursk-campaign --seed 1 --days 42 --out runs/demo/kursk-campaign
	$(BIN)/dronefront run kursk-assault --seed 1 --out runs/demo/kursk-assault
	$(BIN)/dronefront replay runs/demo/kursk-assault -o runs/demo/kursk-assault-replay.html
	$(BIN)/dronefront report runs/demo/kursk-assault -o runs/demo/kursk-assault-report.html
	$(BIN)/dronefront report runs/demo/kursk-campaign -o runs/demo/kursk-campaign-report.html

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/ruff check src tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

validation: $(STAMP)
	$(BIN)/python -m dronefront.validation docs

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_throughput.py
	$(BIN)/python benchmarks/experiment_throughput.py --replicates 200

# Build files only: run folders and experiment stores are the user's results and stay.
clean:
	rm -rf $(VENV) build src/*.egg-info
