"""API surfaces: thin adapters that validate input, call domain services and render their envelope."""
