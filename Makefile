# Two commands on a fresh machine: `make demo` (stack + demo data) and `make test`.
UV_VERSION := 0.13.8

.PHONY: setup demo up down status test lint schemas

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	uv sync --frozen

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

test: lint
	uv run pytest

schemas: setup
	uv run trail contracts generate
