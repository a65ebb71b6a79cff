# One image for the three services; the command picks which one runs.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY contracts ./contracts
COPY services ./services
COPY cli ./cli
RUN uv sync --frozen --no-dev && useradd --system --uid 10001 trail \
 && .venv/bin/python -m services.credential.vc.contexts  # JSON-LD contexts and schemas, pinned
USER trail
ENV PATH="/app/.venv/bin:$PATH" LT_HTTP_HOST=0.0.0.0 LT_HTTP_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["python", "-m", "services.learner"]
