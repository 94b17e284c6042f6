"""The card fields a model should see are in the character sheet; those it should not (creator notes, tags,
creator, the card's version) are not; the lines the scripted provider reads stay as they were."""

from apps.conversations import prompts
from apps.llm import selectors as llm_selectors
from apps.llm import services as llm_services

CARD_CONTENT = {
    "display_name": "Mira",
    "profile": {"visible_bio": "A lighthouse keeper.", "visible_interests": ["storms", "tea"]},
    "voice_samples": ["The light stays on."],
    "personality": "dry, patient, curious",
    "scenario": "The user washed up on Mira's island.",
    "system_prompt": "Write in the first person.",
    "mes_example": "<START>\nUser: Who are you?\nMira: The one who keeps the light on.",
    "post_history_instructions": "Keep replies under 100 words.",
    "creator_notes": "NOTES-FOR-HUMANS",
    "tags": ["TAG-FOR-FILTERS"],
    "creator": "CREATOR-NAME",
    "character_version": "CARD-VERSION-9",
}


def test_the_sheet_has_the_card_fields_for_the_model_and_closes_with_the_post_history_instructions():
    sheet = prompts.system_prompt(CARD_CONTENT)
    lines = sheet.split("\n")

    assert lines[0].startswith("You are Mira.")
    assert "Personality: dry, patient, curious" in lines
    assert "Scenario: The user washed up on Mira's island." in lines
    assert "Author's instructions: Write in the first person." in lines
    assert "Examples of dialogue (style only, not things that happened):\n<START>\nUser: Who are you?" in sheet
    assert lines[-1] == "Always remember: Keep replies under 100 words."
    for hidden in ("NOTES-FOR-HUMANS", "TAG-FOR-FILTERS", "CREATOR-NAME", "CARD-VERSION-9"):
        assert hidden not in sheet


def test_a_sheet_without_card_fields_is_unchanged_and_the_scripted_model_still_reads_it(db):
    plain = {key: value for key, value in CARD_CONTENT.items() if key in ("display_name", "profile", "voice_samples")}
    assert "Personality" not in prompts.system_prompt(plain) and "Always remember" not in prompts.system_prompt(plain)

    spec = llm_selectors.model_spec_get(name="scripted")
    reply = llm_services.chat(spec=spec, messages=prompts.chat_messages(CARD_CONTENT, [("user", "what's new?")]))
    assert "storms" in reply.text or "tea" in reply.text
