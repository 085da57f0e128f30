"""The documents the bot answers from: the article model, the files, and the code that reads them."""
