"""Telegram as a managed delivery channel: an integrator connects a bot, its users' messages become turns
in a session per Telegram user, and the character's events go back out through the Bot API.

Doors (what other apps and surfaces import): ``services`` (``channels``: connect / verify / delete;
``inbound``: updates to messages; ``outbound``: events to sendMessage / sendChatAction, ordered per chat and
retried), ``selectors``, ``errors`` and ``types`` (the inbound update as the domain reads it: the hook
surface parses the Bot API's JSON into it). Private: ``models`` (channels, chats, inbound updates, outbound
deliveries), ``bot_api`` (the HTTP client), ``tasks`` (sends, run by ``apps.core.executor``), ``admin``.
"""
