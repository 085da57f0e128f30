"""The ``qabot`` command line: ``bot.cli.main`` parses and dispatches, one module per group of commands."""
