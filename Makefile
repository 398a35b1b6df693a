# Two commands: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app peiling
CHROMIUM ?= /usr/bin/chromium
PORT ?= 5000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run worker test bench bench-instructions bench-parts loadtest lint format screenshots translations chromium libreoffice wrk valgrind clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

## run: install, migrate the SQLite database in instance/, load the demo, serve on :$(PORT)
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo --responses 833 --if-empty
	@echo "Peiling draait op http://127.0.0.1:$(PORT)/p/jongerenpeiling-demo (stoppen: Ctrl-C)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

## worker: do the queued slow work (large exports, panel mail) from Redis; needs
## PEILING_REDIS_URL, and the same PEILING_* settings and instance folder as the web server
worker: $(VENV)/.installed
	$(FLASK) worker

## test: install the test extras and Chromium, then run the whole suite
test: $(VENV)/.installed-test chromium libreoffice
	$(BIN)/pytest

## bench: page weight, SQL per page view and submissions/s against gunicorn + PostgreSQL,
## beside hello world and a bare floor app (bench/floor.py), then the results page and the workbooks at 10,000, 100,000 and 1,000,000 responses
## (BENCH_ANALYSIS_SIZES; about half an hour in all)
bench: $(VENV)/.installed-test wrk
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.analysis

## bench-instructions: instructions per submission and per hello world, counted in-process
## by valgrind: unlike requests per second, they do not drift with the machine (3 minutes)
bench-instructions: $(VENV)/.installed-test valgrind
	$(BIN)/python -m bench.instructions

## bench-parts: the same, plus what each part of Peiling's own work on a submission costs
## (each switched off in turn, bench/parts.py; about fifteen minutes)
bench-parts: $(VENV)/.installed-test valgrind
	$(BIN)/python -m bench.instructions --parts

## loadtest: load and fault tests against gunicorn on loopback: 200 respondents for 60 s on
## PostgreSQL, SQLite, PostgreSQL stopped mid-load, workers killed, Redis killed, two
## instances (about six minutes; LOADTEST_SCENARIOS picks some)
loadtest: $(VENV)/.installed-test
	$(BIN)/python -m bench.loadtest

## screenshots: render the README's screenshots (docs/screenshots/) in Chromium
screenshots: $(VENV)/.installed-test chromium
	$(BIN)/python scripts/screenshots.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Playwright's own browser download does not work on these machines; Debian's does.
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# The workbook tests open every export in a real spreadsheet program (headless).
libreoffice:
	@command -v soffice >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui; }

valgrind:
	@command -v valgrind >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq valgrind; }

wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

## translations: extract interface texts, update the nl/en/uk/ar catalogues and compile them
# (PARTS: JSON translations; *.uk.json and *.ar.json for Ukrainian and Arabic, others English)
translations: $(VENV)/.installed-test
	$(BIN)/python scripts/translations.py $(PARTS)
