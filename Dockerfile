# CPU image serving an export (a merged model directory from `honed export RUN --format merged -o OUT`) with
# honed's own batching engine. Build and run (see docs/serve.md):
#   docker build -t honed-serve .
#   docker run --rm -p 127.0.0.1:8000:8000 -v "$PWD/export:/model:ro" -e HONED_API_KEY=change-me honed-serve
# Small: python slim base, no compiler, no pip cache; torch is the CPU build pinned like the Makefile's.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    HONED_HOME=/data \
    OMP_NUM_THREADS=2

# Pass a CPU-only wheel index with --build-arg TORCH_INDEX_URL=... to keep CUDA libraries out of the image.
ARG TORCH_INDEX_URL=""
RUN if [ -n "$TORCH_INDEX_URL" ]; then pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0; \
    else pip install torch==2.13.0; fi

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[serve]" && useradd --create-home honed && mkdir -p /data && chown honed /data
USER honed

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
# Inside a container the server must listen on all interfaces; publish the port on 127.0.0.1 (as above) or put
# it behind a proxy, and set HONED_API_KEY.
CMD ["honed", "serve", "/model", "--host", "0.0.0.0", "--port", "8000", "--api-key-env", "HONED_API_KEY"]
