"""The library: tokenize, index, search and answer. Knows nothing of Telegram or the command line, and
never imports the measuring tools in ``retrieval.measure``, which use it."""
