"""The chaos suite's webhook sink: the shared receiver (``tests/fakes/webhook_receiver.py``, which checks each
POST's Standard Webhooks signature with the official ``standardwebhooks`` package) under one URL per endpoint,
counting deliveries per (endpoint, event id).

``sink.url_for("a")`` is the URL to register for endpoint ``a``; ``sink.deliveries()`` maps
``(endpoint name, event id)`` to how many verified POSTs arrived; ``sink.unverified()`` lists what failed the
signature check (it should be empty).
"""

from __future__ import annotations

from collections import Counter

from tests.chaos.harness import SIGNING_SECRET
from tests.fakes.webhook_receiver import WebhookReceiver


class WebhookSink(WebhookReceiver):
    def __init__(self, secret: str = SIGNING_SECRET, *, port: int = 0) -> None:
        super().__init__(secret, port=port)

    def url_for(self, endpoint: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{endpoint}"

    def deliveries(self) -> Counter[tuple[str, str]]:
        with self._lock:
            received = list(self.received)
        return Counter(
            (item.path.removeprefix("/hook/"), item.headers.get("webhook-id", ""))
            for item in received
            if item.standard_signature_ok
        )

    def unverified(self) -> list[str]:
        with self._lock:
            return [item.path for item in self.received if not item.standard_signature_ok]
