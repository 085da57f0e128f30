"""The application: settings, the runtime that loads corpus and index, and the bot's own words, shared
by its two front ends, the ``qabot`` command line (``bot.cli``) and the Telegram bot (``bot.telegram``)."""
