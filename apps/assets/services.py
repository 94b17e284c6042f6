"""Writes of the assets app: visual assets (upload, register from a URL, promote, retire) and generated
images (create, draw, settle). Every function takes the asking app and refuses another app's rows as absent.
"""

from __future__ import annotations

# --- visual assets ---------------------------------------------------------------------------------------


# --- generated images ------------------------------------------------------------------------------------
