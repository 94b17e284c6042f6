"""Views of the native surface, one module per resource."""
