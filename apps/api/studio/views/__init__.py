"""The studio surface's views, one module per resource of the seed: models, completions, conversations (and
their messages), agents, images."""
