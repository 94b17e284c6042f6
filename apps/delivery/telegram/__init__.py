"""Telegram as a managed delivery channel: an integrator connects a bot, its users' messages become turns
in a session per Telegram user, and the character's events go back out through the Bot API.

Modules: ``models`` (channels, chats, inbound updates, outbound deliveries), ``bot_api`` (the HTTP client),
``channels`` (connect / verify / delete), ``inbound`` (updates to messages), ``outbound`` (events to
sendMessage / sendChatAction, ordered per chat and retried), ``tasks`` (sends, run by ``apps.core.executor``),
``selectors`` and ``errors``.
"""
