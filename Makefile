# The two commands of the README: `make run` and `make test`. Each installs what it needs.
# uv manages the environment; it is installed into .tools/ with the machine's own Python,
# and never downloads a Python of its own.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
# The browser tests drive the system Chromium; npm never fetches a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test bench bench-full install web check lint typecheck format migrate interop-deps \
	test-services bench-deps clean

# `make run PORT=8001` serves elsewhere; HOST=0.0.0.0 listens beyond this machine.
HOST ?= 127.0.0.1
PORT ?= 8000

run: install web
	./.venv/bin/parley serve --host $(HOST) --port $(PORT)

# The server's suite, then the web client's: Vitest, and Playwright driving Chromium against
# a real `parley serve`.
# Two pytest workers: most of the suite waits on servers and timers, not on the CPU.
test: install interop-deps test-services web
	./.venv/bin/pytest -n 2
	cd web && npm test
	cd web && npm run e2e

# The benchmark (bench/README.md): every scenario against Parley and both baselines, three
# rounds each. `make bench` at reduced sizes (about ten minutes on 2 cores), `make bench-full`
# at the full ones (about half an hour: run it in the background).
bench: install bench-deps test-services
	./.venv/bin/python -m bench.run

bench-full: install bench-deps test-services
	./.venv/bin/python -m bench.run --full

install: .venv/.installed

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# The web client, built into web/dist (which `parley serve` serves) when its sources change.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json

web: web/dist/index.html

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

interop-deps: tests/interop/node_modules/.installed

tests/interop/node_modules/.installed: tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund
	touch $@

bench-deps: bench/node_modules/.installed

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	touch $@

# Redis and PostgreSQL 15 for the tests, which start their own servers; installed when
# missing (as root) or named for the user to install.
test-services:
	./scripts/test-services.sh

migrate: install
	./.venv/bin/parley migrate

lint: install web/node_modules/.installed
	./.venv/bin/ruff check src tests bench
	./.venv/bin/ruff format --check src tests bench
	cd web && npm run lint

typecheck: install
	./.venv/bin/mypy

check: lint typecheck test

format: install
	./.venv/bin/ruff format src tests bench
	./.venv/bin/ruff check --fix src tests bench

clean:
	rm -rf .venv .tools tests/interop/node_modules web/node_modules web/dist bench/node_modules
