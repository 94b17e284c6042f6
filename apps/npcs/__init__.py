"""NPCs: authored scenarios ("machines") of states and transitions that a player's messages move along,
with scores, outcomes and unlocks (Foil Engine's model).

Other apps use only the public doors: ``services`` (save an NPC's whole scenario set, delete it; start,
reset and step a playthrough), ``selectors`` (an NPC and its ``/full`` export, lists, a machine's graph,
the machines available to a player, playthroughs), ``errors`` and ``types`` (the ``/full`` body's declared
shape, the rows and values the services return, the engine's value types).

Inside: ``engine`` (pure functions, no Django: the machine graph, the transition step, deterministic
matchers, unlock rules, graph checks) and ``scenario`` (the ``/full`` body checked against the graph rules
and turned into rows, and back). An NPC is a character: its name, description and identity prompt are the
character's content. Depends on ``characters``, ``accounts`` and ``core``; never on ``personas`` (a peer)
or ``conversations`` (which sits above it: its sessions point at playthroughs).
"""
