"""The studio surface, ``/studio/api/v1`` (the white-label "AI characters, conversations and image generation"
API of seed 003): models, completions, conversations and their messages, agents, images; bearer keys; errors
as ``{"error": "..."}``.

The domain is ``llm`` (the catalog), ``characters`` (an agent is a character), ``assets`` (pictures) and
``conversations`` (a conversation is a session; turns, completions, drawings); this package only reads the
wire and presents the seed's bodies. ``docs/integrators/studio-api.md`` is the integrator's page.
"""
