"""Measuring the library: the tools behind ``qabot bench`` (speed) and ``qabot eval`` (accuracy), and
the fitting of the sentence ranker (``qabot fit``).

They use the library; the library never imports them. Every file they read comes in as an argument.
"""
