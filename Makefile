# Two commands on a fresh machine: `make demo` (stack + demo data) and `make test`.
UV_VERSION := 0.13.8
# What the browser tests drive and read, from Debian's packages (no browser download).
BROWSER_PACKAGES := chromium zbar-tools poppler-utils fonts-noto-core

.PHONY: setup browsers demo up down status test lint schemas

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	uv sync --frozen

# Chromium (/usr/bin/chromium), zbarimg and pdftoppm for tests/browser/, installed when missing.
browsers:
	@if command -v chromium >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1 \
		&& command -v pdftoppm >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES); \
	else \
		echo "the browser tests need: sudo apt-get install -y --no-install-recommends $(BROWSER_PACKAGES)"; \
		exit 1; \
	fi

demo: setup
	uv run trail dev up
	uv run trail demo

up: setup
	uv run trail dev up

down:
	uv run trail dev down

status:
	uv run trail dev status

lint: setup
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy

test: lint browsers
	uv run pytest

schemas: setup
	uv run trail contracts generate
