"""The Telegram bot and the `qabot` command line. Only this package imports telegram."""
