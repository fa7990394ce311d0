# The Jigsaw app. Built by docker compose; talks to the neo4j service.
FROM python:3.12-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential git \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY graph graph
COPY loaders loaders
COPY queries queries
COPY ui ui
COPY planning planning
COPY synthetic synthetic
RUN uv sync --frozen --no-dev

FROM python:3.12-slim-bookworm
RUN useradd --create-home --uid 10001 jigsaw && mkdir -p /var/lib/jigsaw \
    && chown jigsaw /var/lib/jigsaw
WORKDIR /app
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH"
USER jigsaw
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health')"
CMD ["sh", "-c", "jigsaw db init && jigsaw serve --host 0.0.0.0 --port 8501"]
