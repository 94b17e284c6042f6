"""The playground (``/playground/``): a page for signed-in staff to talk to an app's characters and NPCs live.

A surface like the others, for people rather than programs: Django templates, one vanilla script, and a few
small JSON views behind the admin's session login. It starts or resumes a session through the conversations
services, sends messages through the same turn pipeline as the API, and reads the replies over the native SSE
stream (``/v1/sessions/{id}/events/stream``) with a stream token it mints for the page.
"""
