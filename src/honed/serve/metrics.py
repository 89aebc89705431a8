"""Prometheus metrics of one server (its own registry, so several apps in one process never collide)."""
from __future__ import annotations


class ServeMetrics:
    def __init__(self, backend):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("honed_requests", "answered requests", ["endpoint", "model", "status"],
                                registry=self.registry)
        self.latency = Histogram("honed_request_latency_seconds", "time from request to last token", ["endpoint"],
                                 registry=self.registry)
        self.ttft = Histogram("honed_time_to_first_token_seconds", "streaming: time to the first text",
                              registry=self.registry)
        self.tokens = Counter("honed_tokens", "tokens processed", ["model", "kind"], registry=self.registry)
        stats = backend.stats
        Gauge("honed_active_sequences", "sequences in the running batch", registry=self.registry).set_function(
            lambda: stats().get("active", 0))
        Gauge("honed_waiting_sequences", "sequences waiting to join the batch", registry=self.registry).set_function(
            lambda: stats().get("waiting", 0))
        Gauge("honed_forward_passes", "model forward passes so far (prefill + decode steps)",
              registry=self.registry).set_function(lambda: stats().get("steps", 0))

    def count(self, endpoint: str, model: str, status: int) -> None:
        self.requests.labels(endpoint, model, str(status)).inc()

    def observe(self, endpoint: str, model: str, latency_s: float, usage: dict) -> None:
        self.count(endpoint, model, 200)
        self.latency.labels(endpoint).observe(latency_s)
        self.tokens.labels(model, "prompt").inc(usage.get("prompt_tokens", 0))
        self.tokens.labels(model, "completion").inc(usage.get("completion_tokens", 0))

    def first_token(self, seconds: float) -> None:
        self.ttft.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
