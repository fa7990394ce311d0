# The Jigsaw app, installed as a package (what the wheel ships, with the locked
# dependencies): no source tree in the final image. docker compose builds it; the GitHub
# workflow builds it and runs jigsaw in it.
FROM python:3.12-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential git \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=0
WORKDIR /app
# The dependencies first, in a layer that changes only with the lock file (the embedded
# engine builds Redis and FalkorDB from source here, a few minutes).
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
# Then the project itself, built and installed like the wheel (not editable).
COPY README.md LICENSE ./
COPY api api
COPY graph graph
COPY loaders loaders
COPY planning planning
COPY queries queries
COPY synthetic synthetic
COPY ui ui
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.12-slim-bookworm
# The embedded engine's FalkorDB module needs the OpenMP and C++ runtimes.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 libstdc++6 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 jigsaw && mkdir -p /var/lib/jigsaw \
    && chown jigsaw /var/lib/jigsaw
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" JIGSAW_DATA_DIR=/var/lib/jigsaw
WORKDIR /var/lib/jigsaw
USER jigsaw
EXPOSE 8501 8600
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health')"
CMD ["sh", "-c", "jigsaw db init && jigsaw serve --host 0.0.0.0 --port 8501"]
