"""Characters, their immutable published versions, authoring readiness.

Public surface: ``services`` (character_publish, character_patch, character_validate, character_draft_save,
character_draft_publish, character_version_republish), ``selectors`` (character_list, character_get,
character_version_list, character_version_history, character_version_get, character_version_of,
character_content_current, character_readiness), ``types`` (SLUG_PATTERN and CHARACTER_CONTENT, the declared
shape of authoring content) and ``errors``. ``content`` (validation, hash) and ``readiness`` are internal; the
admin (``admin/``) builds its form from ``types``. Depends on ``accounts`` and ``core``.
"""
