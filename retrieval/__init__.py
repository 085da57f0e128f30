"""Tokenize, index, search and answer. Knows nothing of Telegram."""
