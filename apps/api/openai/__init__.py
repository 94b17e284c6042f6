"""The OpenAI-compatible surface, ``/openai/v1`` (any OpenAI SDK by changing its base URL): the app's published
characters and the catalog's models as models, chat completions (stateless, or a character's session per
``user``), token streaming as ``chat.completion.chunk`` frames, and image generations; errors in OpenAI's
``{"error": {message, type, param, code}}`` shape.

The domain is ``conversations`` (turns and completions), ``characters``, ``llm`` (the catalog) and ``assets``
(images); this package only reads the wire and presents OpenAI's bodies.
"""
