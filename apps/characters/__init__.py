"""Characters, their immutable published versions, authoring readiness.

Public surface: ``services`` (character_publish, character_validate, character_draft_publish),
``selectors`` (character_list, character_get, character_version_list, character_version_get),
``content`` (the authoring schema), ``readiness`` and ``errors``. Depends on ``accounts`` and ``core``.
"""
