PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench torture lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/calfsync demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/views.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/chart.py
	$(BIN)/python bench/strava.py
	$(BIN)/python bench/intervals.py --activities 200
	$(BIN)/python bench/daemon.py --quick
	$(BIN)/python bench/scan.py --quick
	$(BIN)/python bench/mqtt.py --trials 1 --idle 10
	$(BIN)/python bench/mqtt.py --charts --trials 1 --idle 10

torture: $(STAMP)
	$(BIN)/python bench/torture.py

lint: $(STAMP)
	$(BIN)/ruff check calfsync tests bench
	$(BIN)/ruff format --check calfsync tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
