"""The Telegram front end: the one package that imports python-telegram-bot. It never imports bot.cli."""
