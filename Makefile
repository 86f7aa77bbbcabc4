# Two commands: `make run` serves the demo university, `make test` runs the whole suite.
# Everything installs into the project: .venv for Python, node_modules for front-end packages.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
# `make run PORT=8001` serves on another port (on 127.0.0.1 only).
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test install install-test messages static db clean

# The year's schedule runs beside the site: Celery beat runs each due job (reminders, closing
# publicity windows, confirming declarations, locking periods, the nightly checks) in its own process,
# eagerly, since the embedded default has no broker; it stops with the server.
run: install static db
	@$(BIN)/celery -A partyscore beat --loglevel=info --schedule=.celerybeat-schedule & beat=$$!; \
	trap 'kill $$beat 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:$(PORT)

test: install-test messages
	scripts/ensure-browser
	$(BIN)/pytest -n 2

install: $(VENV)/.installed node_modules/.installed .env messages

install-test: $(VENV)/.installed-test node_modules/.installed .env

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[build]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[build,test]'
	touch $@ $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# A local secret key for the embedded default, made once and never committed.
.env:
	$(BIN)/python -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(50))" > $@

# English is compiled from locale/en; Chinese is the source language and needs no catalogue.
messages: $(VENV)/.installed
	$(BIN)/pybabel compile --domain django --directory locale --use-fuzzy --statistics 2>&1 | tail -1

static: install
	$(MANAGE) collectstatic --noinput -v0

db: install
	$(MANAGE) migrate --noinput -v0
	$(MANAGE) seed_demo

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3 .celerybeat-schedule*
