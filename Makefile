# Fieldhook: `make run` starts the product, `make test` runs the checks. See README.md.
.PHONY: run test lint format migrate bench clean

VENV_PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

run:
	@scripts/venv.sh requirements.txt
	DEBUG=$${DEBUG:-1} $(VENV_PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(VENV_PY) manage.py seed_demo
	@echo "Starting web (http://127.0.0.1:8000/admin/), worker and beat. Ctrl-C stops all."
	DEBUG=$${DEBUG:-1} $(VENV_PY) -m honcho --procfile Procfile.dev start

test:
	@scripts/venv.sh requirements-dev.txt
	@scripts/test_services.sh
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .
	DJANGO_SETTINGS_MODULE=tests.settings $(VENV_PY) manage.py makemigrations --check --dry-run
	$(VENV_PY) -m pytest

lint:
	$(VENV_PY) -m ruff check --fix .
	$(VENV_PY) -m ruff format .

bench:
	@scripts/venv.sh requirements-dev.txt
	@scripts/test_services.sh
	$(VENV_PY) -m bench.dispatch
	$(VENV_PY) -m bench.isolation
	$(VENV_PY) -m bench.engine
	$(VENV_PY) -m bench.scale
	$(VENV_PY) -m bench.connectors

clean:
	rm -rf var/broker var/static .pytest_cache .ruff_cache
