"""Memory's pure core: the offline fact extractor and summariser, fact recall, and fitting a prompt into its
token budget. No database and no model calls here; ``services.memory`` and the turn feed these functions."""
