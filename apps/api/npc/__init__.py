"""The NPC surface, ``/npc/api/v1`` (Foil Engine-compatible): personas, player sessions and turns for the
``foilengine`` SDK, keyed by ``X-API-Key`` (the app's API keys), errors as ``{"error": {"message"}}``.

The domain is ``npcs`` (scenarios, playthroughs) and ``conversations`` (the turn and its event log); this
package only reads the wire and presents Foil's bodies.
"""
