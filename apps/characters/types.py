"""Plain values of the characters app that other apps and the surfaces use: the slug pattern and the declared
shape of a character's authoring content (``CHARACTER_CONTENT``; validated by ``services``, documented by the
native surface). Fields follow LoreOS's character body.
"""

from apps.core.shapes import (
    Boolean,
    Choice,
    Field,
    Integer,
    JsonObject,
    JsonValue,
    ListOf,
    Number,
    NumberedChoice,
    ObjectOrText,
    Record,
    Text,
)

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Ranges are written as integers so that the messages read "less than or equal to 1", not "1.0".
BEHAVIORAL_THRESHOLDS = Record(
    "BehavioralThresholds",
    (
        Field(
            "proactivity_tolerance",
            Number(min_value=0, max_value=1),
            doc="How readily the character writes first, from 0 (never) to 1 (as often as the other rules allow).",
        ),
        Field(
            "cold_initiate_enabled",
            Boolean(),
            doc="May the character open a fresh conversation after a long silence (on unless set to false).",
        ),
        Field(
            "session_resume_enabled",
            Boolean(),
            doc="May the character pick up a conversation the user left unanswered (on unless set to false).",
        ),
        Field(
            "cold_initiate_min_idle_minutes",
            Integer(min_value=5, max_value=1440),
            doc="Minutes of silence before the character may open a fresh conversation.",
        ),
        Field(
            "session_resume_min_idle_minutes",
            Integer(min_value=0, max_value=1440),
            doc="Minutes of silence before the character may resume an unanswered conversation.",
        ),
        Field(
            "session_resume_max_unanswered_character_turns",
            Integer(min_value=0, max_value=20),
            doc="At most this many character messages in a row may go unanswered before it stops resuming.",
        ),
        Field(
            "min_gap_between_initiate_minutes",
            Integer(min_value=0, max_value=1440),
            doc="Minutes at least between two messages the character writes first.",
        ),
        Field(
            "daily_initiate_cap",
            Integer(min_value=0, max_value=50),
            doc="At most this many messages a day that the character writes first.",
        ),
        Field(
            "image_proactivity",
            Number(min_value=0, max_value=1),
            doc="How readily the character sends a selfie unasked, from 0 (never) to 1.",
        ),
        Field(
            "selfie_comfort",
            Number(min_value=0, max_value=1),
            doc="How comfortable the character is sending selfies when asked, from 0 (refuses) to 1.",
        ),
        Field(
            "daily_image_cap",
            Integer(min_value=0, max_value=100),
            doc="At most this many images a day per conversation.",
        ),
    ),
    other_keys="keep",
    doc="Knobs for writing first and sending images. Known knobs are typed and ranged; unknown keys are kept as "
    "authored.",
)

_MOOD_AXIS = Number(min_value=-1, max_value=1)
EMOTION_BASELINE = Record(
    "EmotionBaseline",
    (
        Field("valence", _MOOD_AXIS, doc="Unpleasant (-1) to pleasant (1)."),
        Field("arousal", _MOOD_AXIS, doc="Calm (-1) to excited (1)."),
        Field("dominance", _MOOD_AXIS, doc="Submissive (-1) to in control (1)."),
    ),
    other_keys="keep",
    doc="Resting mood as valence/arousal/dominance in [-1, 1]; other keys are kept as authored.",
)


def _text_list(max_items: int, max_length: int) -> ListOf:
    return ListOf(Text(max_length=max_length), max_items=max_items)


def _json_list(max_items: int) -> ListOf:
    return ListOf(JsonValue(), max_items=max_items)


# Card texts (descriptions, example dialogues, instructions) run long in the wild; this bounds each one.
CARD_TEXT_MAX_LENGTH = 100_000


def _card_text() -> Text:
    return Text(max_length=CARD_TEXT_MAX_LENGTH, allow_blank=True)


CHARACTER_CONTENT = Record(
    "CharacterContent",
    (
        Field(
            "slug",
            Text(
                min_length=1,
                max_length=128,
                pattern=SLUG_PATTERN,
                pattern_message="Use letters, digits, '_', '.' and '-' only (no spaces).",
            ),
            required=True,
            doc="The character's handle, unique within your app; it never changes once created.",
        ),
        Field(
            "display_name",
            Text(min_length=1, max_length=120),
            required=True,
            doc="The name the character goes by in conversations.",
        ),
        Field(
            "locale",
            Text(min_length=2, max_length=16),
            default="en-US",
            doc="The language the character writes in unless the user writes another (BCP 47, e.g. en-US).",
        ),
        Field(
            "profile",
            JsonObject(),
            doc="Who the character is: visible_bio, visible_interests, identity_anchors (visual keys for selfies), "
            "city, occupation and the other profile keys the runtime reads; other keys are kept but unused.",
        ),
        Field(
            "voice_samples",
            _text_list(50, 2000),
            doc="Lines in the character's own words, to set its voice (at least 3 recommended).",
        ),
        Field(
            "greeting",
            Text(max_length=4000, allow_blank=True),
            doc="The first message every new session opens with; empty for none.",
        ),
        Field(
            "alternate_greetings",
            _text_list(20, 4000),
            doc="Other opening messages an app may choose instead of the greeting (Character Card V2's "
            "alternate_greetings).",
        ),
        Field(
            "onboarding",
            _json_list(50),
            doc="Steps for the first conversations (each a text or a JSON object).",
        ),
        Field(
            "character_direction",
            ObjectOrText(),
            doc="Long-run goals and direction of the character (a text or a JSON object).",
        ),
        Field(
            "life_template",
            ObjectOrText(),
            doc="Daily life: routines, places and people (a text or a JSON object).",
        ),
        Field(
            "story_engine",
            ObjectOrText(),
            doc="Settings of how stories unfold (a text or a JSON object).",
        ),
        Field(
            "arc_seeds", _json_list(50), doc="Story arcs the character can grow into (each a text or a JSON object)."
        ),
        Field(
            "relationship_seed",
            ObjectOrText(),
            doc="How the relationship with the user starts (a text or a JSON object).",
        ),
        Field("emotion_baseline", EMOTION_BASELINE),  # documented by its record (a field doc would wrap the $ref)
        Field(
            "forbidden_style",
            _text_list(100, 500),
            doc="Things the character never says or does, one per item.",
        ),
        Field(
            "handoff_triggers",
            _text_list(100, 500),
            doc="Topics or phrases on which the conversation should be handed off (to a human or another flow).",
        ),
        Field(
            "world_model_seed",
            _json_list(100),
            doc="Facts about the character's world (each a text or a JSON object).",
        ),
        Field(
            "inherits_style_anchors",
            _text_list(50, 200),
            doc="Names of shared style anchors this character inherits.",
        ),
        Field(
            "raw_sources",
            _json_list(50),
            doc="The material the character was written from (notes, links, documents), kept as authored.",
        ),
        Field("behavioral_thresholds", BEHAVIORAL_THRESHOLDS),
        Field(
            "affordance_schema",
            JsonObject(),
            doc="What the character can do in your app (a JSON object for your client), kept as authored.",
        ),
        Field("model", Text(max_length=100), doc="Chat model name from the catalog."),
        # Character Card V2/V3 fields (see docs/integrators/cards.md): what a card says that the fields above
        # do not, kept so that a card exported again is the card that was imported.
        Field(
            "personality",
            _card_text(),
            doc="A short summary of the character's personality (a card's personality); in the prompt.",
        ),
        Field(
            "scenario",
            _card_text(),
            doc="The circumstances of the conversation (a card's scenario); in the prompt.",
        ),
        Field(
            "mes_example",
            _card_text(),
            doc="Examples of dialogue showing how the character talks (a card's mes_example, usually blocks "
            "opened by <START>); in the prompt.",
        ),
        Field(
            "system_prompt",
            _card_text(),
            doc="Instructions from the character's author for the model (a card's system_prompt); in the prompt.",
        ),
        Field(
            "post_history_instructions",
            _card_text(),
            doc="Instructions meant to come after the conversation so far (a card's post_history_instructions); "
            "the last line of the character sheet.",
        ),
        Field(
            "creator_notes",
            _card_text(),
            doc="Notes of the card's author for people using the character; never in the prompt.",
        ),
        Field("tags", _text_list(100, 100), doc="Labels for sorting and filtering; never in the prompt."),
        Field("creator", Text(max_length=200, allow_blank=True), doc="Who made the card; never in the prompt."),
        Field(
            "character_version",
            Text(max_length=100, allow_blank=True),
            doc="The card author's version of the character (free text, not our version number).",
        ),
        Field(
            "extensions",
            JsonObject(),
            doc="A card's extensions (namespaced keys of other tools), kept exactly as imported and exported "
            "again; nothing in Dramatis reads them.",
        ),
        Field(
            "card_fields",
            JsonObject(),
            doc="Card fields Dramatis has no use for (V3's nickname, group_only_greetings, source, "
            "creator_notes_multilingual, creation_date, modification_date, unknown fields), kept for export.",
        ),
    ),
    other_keys="refuse",
    doc="Everything an integrator authors about a character. Only ``slug`` and ``display_name`` are required.",
)


# --- lorebooks (Character Card V2 ``character_book``) -------------------------------------------------------
SELECTIVE_LOGIC_NAMES = ("and_any", "not_all", "not_any", "and_all")  # ST's selectiveLogic 0, 1, 2, 3
LORE_POSITIONS = ("before_char", "after_char")


def _optional(name: str, shape, doc: str) -> Field:
    return Field(name, shape, nullable=True, doc=doc)


LOREBOOK_ENTRY_EXTENSIONS = Record(
    "LorebookEntryExtensions",
    (
        _optional(
            "scan_depth", Integer(min_value=0, max_value=1000), "Messages scanned for this entry (overrides the book)."
        ),
        _optional("match_whole_words", Boolean(), "Plain keys match whole words only."),
        _optional("case_sensitive", Boolean(), "SillyTavern's place for case_sensitive (the entry field wins)."),
        _optional("selectiveLogic", Integer(min_value=0, max_value=3), "SillyTavern's number for selective_logic."),
        _optional("probability", Integer(min_value=0, max_value=100), "SillyTavern's place for probability."),
        _optional("useProbability", Boolean(), "false turns the probability off (always fires)."),
        _optional("group", Text(max_length=500, allow_blank=True), "Inclusion groups (comma-separated names)."),
        _optional("group_weight", Integer(min_value=0, max_value=1_000_000), "Weight in the group's draw (100)."),
        _optional("group_override", Boolean(), "Wins its group by insertion order instead of the draw."),
        _optional("sticky", Integer(min_value=0, max_value=10_000), "Stays active this many turns after firing."),
        _optional("cooldown", Integer(min_value=0, max_value=10_000), "Cannot fire this many turns after it ends."),
        _optional("delay", Integer(min_value=0, max_value=10_000), "Cannot fire before this user turn."),
        _optional("exclude_recursion", Boolean(), "Never fired by other entries' content."),
        _optional("prevent_recursion", Boolean(), "Its content does not fire other entries."),
        _optional("delay_until_recursion", Boolean(), "Fires only in a recursion pass."),
        _optional("ignore_budget", Boolean(), "Always fits its book's token budget."),
    ),
    other_keys="keep",
    doc="Entry extensions: kept exactly as sent. The keys listed (SillyTavern's names in its card export) are "
    "read by the activation engine and checked; any other key is kept untouched.",
)

LOREBOOK_ENTRY = Record(
    "LorebookEntry",
    (
        _optional(
            "id", Integer(min_value=0, max_value=2_147_483_647), "Stable id within the book; assigned when absent."
        ),
        Field("keys", ListOf(Text(max_length=500), max_items=100), doc="Primary keys; /re/flags is a regex."),
        Field("secondary_keys", ListOf(Text(max_length=500), max_items=100), doc="The optional filter."),
        _optional("selective", Boolean(), "Use secondary_keys (on when absent and secondary_keys are given)."),
        Field(
            "selective_logic",
            NumberedChoice(SELECTIVE_LOGIC_NAMES),
            doc="and_any, not_all, not_any or and_all, or SillyTavern's number 0-3 in that order.",
        ),
        Field("content", Text(max_length=20_000, allow_blank=True), required=True, doc="Text inserted when it fires."),
        Field("constant", Boolean(), default=False, doc="Always fires (within the budget)."),
        Field("enabled", Boolean(), default=True),
        Field(
            "insertion_order",
            Integer(min_value=-1_000_000, max_value=1_000_000),
            default=100,
            doc="Lower is inserted higher; higher wins the budget.",
        ),
        Field("position", Choice(LORE_POSITIONS), default="before_char"),
        _optional("probability", Integer(min_value=0, max_value=100), "Chance in percent to fire when triggered."),
        Field("comment", Text(max_length=2000, allow_blank=True), default=""),
        Field("name", Text(max_length=200, allow_blank=True), default=""),
        _optional("case_sensitive", Boolean(), "Plain keys match case (off by default)."),
        Field("use_regex", Boolean(), default=False, doc="Card V3: every key is a regular expression."),
        _optional("priority", Integer(min_value=-1_000_000, max_value=1_000_000), "Card V2's priority, kept."),
        Field("extensions", LOREBOOK_ENTRY_EXTENSIONS),
    ),
    other_keys="refuse",
    doc="One lorebook entry, as Character Card V2 writes it.",
)

LOREBOOK_EXTENSIONS = Record(
    "LorebookExtensions",
    (
        _optional(
            "max_recursion_steps", Integer(min_value=0, max_value=10), "Recursion passes at most (3 when absent)."
        ),
    ),
    other_keys="keep",
    doc="Book extensions, kept exactly as sent.",
)

_BOOK_FIELDS = (
    Field("description", Text(max_length=4000, allow_blank=True), default=""),
    _optional("scan_depth", Integer(min_value=0, max_value=1000), "Recent messages scanned (2 when absent)."),
    _optional("token_budget", Integer(min_value=1, max_value=1_000_000), "Tokens the book may add per turn."),
    _optional("recursive_scanning", Boolean(), "Fired content can fire more entries (on when absent)."),
    Field("extensions", LOREBOOK_EXTENSIONS),
    Field("entries", ListOf(LOREBOOK_ENTRY, max_items=1000)),
)

CHARACTER_BOOK = Record(
    "CharacterBook",
    (Field("name", Text(max_length=200, allow_blank=True), default=""), *_BOOK_FIELDS),
    other_keys="refuse",
    doc="A lorebook as Character Card V2's character_book object.",
)

SHARED_BOOK = Record(
    "SharedCharacterBook",
    (
        Field("name", Text(min_length=1, max_length=200), required=True, doc="Unique among your app's shared books."),
        *_BOOK_FIELDS,
    ),
    other_keys="refuse",
    doc="A shared lorebook: a Card V2 character_book object with a name unique in your app.",
)
