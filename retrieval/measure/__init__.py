"""Measuring the library: the tools behind ``qabot bench`` (speed) and ``qabot eval`` (accuracy), and
the fitting of the sentence ranker (``python -m retrieval.measure.fit``).

They use the library; the library never imports them. Every file they read comes in as an argument.
"""
