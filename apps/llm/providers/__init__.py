"""Provider clients. Each exposes ``chat``, ``chat_json`` and ``chat_stream`` over a ModelSpec."""
