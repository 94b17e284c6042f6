"""A small NPC scenario whose transitions all have keyword matchers, so that a playthrough is deterministic
offline: "hello" passes to ``trust``, "weather" redirects, "password" wins; anything else goes to the model
(the scripted provider's answer is no transition, so the documented fallback, a redirect, applies)."""


def scenario_body(*, name: str = "Gatekeeper", is_public: bool = False) -> dict:
    return {
        "persona": {
            "name": name,
            "description": "Guards the old gate.",
            "identity_prompt": "Gruff but fair.",
            "is_public": is_public,
        },
        "machines": [
            {
                "key": "gate",
                "name": "The gate",
                "objective": "Talk your way through the gate.",
                "is_entry": True,
                "is_published": True,
                "states": [
                    {"key": "start", "name": "Start", "is_initial": True, "system_prompt": "Be wary."},
                    {"key": "trust", "name": "Trust", "system_prompt": "Warm up a little."},
                    {"key": "won", "terminal": "win"},
                    {"key": "lost", "terminal": "lose"},
                ],
                "transitions": [
                    {
                        "from_state_key": "start",
                        "to_state_key": "trust",
                        "decision_type": "pass",
                        "score_delta": 2,
                        "priority": 1,
                        "matchers": [{"type": "keywords", "keywords": ["hello", "greetings"]}],
                    },
                    {
                        "from_state_key": "start",
                        "to_state_key": "start",
                        "decision_type": "redirect",
                        "priority": 2,
                        "matchers": [{"type": "keywords", "keywords": ["weather"]}],
                    },
                    {
                        "from_state_key": "start",
                        "to_state_key": "lost",
                        "decision_type": "kick_out",
                        "priority": 3,
                        "matchers": [{"type": "keywords", "keywords": ["insult"]}],
                    },
                    {
                        "from_state_key": "trust",
                        "to_state_key": "won",
                        "decision_type": "pass",
                        "score_delta": 5,
                        "priority": 1,
                        "matchers": [{"type": "keywords", "keywords": ["password"]}],
                    },
                    {
                        "from_state_key": "trust",
                        "to_state_key": "lost",
                        "decision_type": "reject",
                        "priority": 2,
                        "matchers": [{"type": "keywords", "keywords": ["insult"]}],
                    },
                ],
            },
            {
                "key": "vault",
                "name": "The vault",
                "is_published": True,
                "states": [
                    {"key": "door", "is_initial": True},
                    {"key": "inside", "terminal": "win"},
                ],
                "transitions": [
                    {
                        "from_state_key": "door",
                        "to_state_key": "inside",
                        "decision_type": "pass",
                        "matchers": [{"type": "keywords", "keywords": ["open"]}],
                    }
                ],
            },
        ],
        "machine_links": [
            {"from_machine_key": "gate", "to_machine_key": "vault", "condition": {"type": "outcome", "value": "ACCEPT"}}
        ],
    }
