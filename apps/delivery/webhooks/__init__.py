"""Signed webhooks: endpoints registered per session, per app or per producer scope, and their deliveries.

Doors: ``services`` (``endpoints``: register / remove; ``deliveries``: write rows with the events, send,
retry, give up on endpoints), ``selectors``, ``errors``. Private: ``models``, ``admin``, ``sender`` (the
aiohttp client), ``signing`` (secrets and the two signatures) and ``network`` (the SSRF guard).
"""
