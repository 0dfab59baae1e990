# dronefront: `make demo` runs the main job, `make test` runs the whole suite.
# Both create .venv, install everything and compile the engine's kernels on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench validation validation-calibration calibration clean

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

# The Bayesian calibration's out-of-sample checks (time split, leave one source out) into
# docs/validation.md; long: several ABC fits of the Kursk campaign.
validation-calibration: $(STAMP)
	$(BIN)/python -m dronefront.experiments.validation docs

# Refit the Kursk campaign (ABC-SMC, default budget) and install its posterior and medians
# into the built-in campaign, with provenance.
calibration: $(STAMP)
	$(BIN)/dronefront calibrate examples/calibrate-kursk.yaml --method abc --executor processes \
		--store runs/calibration.duckdb --plot runs/calibration-marginals.png \
		--pairs runs/calibration-pairs.png
	$(BIN)/python -m dronefront.experiments.install --store runs/calibration.duckdb \
		--calibration calibrate-kursk --medians

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_throughput.py
	$(BIN)/python benchmarks/experiment_throughput.py --replicates 200

# Build files only: run folders and experiment stores are the user's results and stay.
clean:
	rm -rf $(VENV) build src/*.egg-info
