"""Tools that measure the answer pipeline: reading-comprehension sets, question files, the fitted ranker."""
