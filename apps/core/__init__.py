"""Shared foundations with no domain models, which every other app may import (this app imports none of
them): prefixed ids and the base model, the error hierarchy, the clock, ``shapes`` (declared shapes of JSON
input), ``executor`` (the one way work is handed off: Celery, an in-process pool or inline) with
``scheduler`` beside it (beat's stand-in on the embedded default), ``events`` (the one event bus and its
sink registry), ``compiled`` reads, generations for shared caches, and request plumbing (the API's ASGI
handler, the body size limit)."""
