"""What operators and their machinery watch: ``/healthz`` (liveness), ``/readyz`` (readiness, each dependency
named) and ``/metrics`` (Prometheus, behind ``METRICS_TOKEN``). Plain Django views: no API key, no rate limit,
no envelope, since load balancers and Prometheus speak no API. See docs/operators.md."""
