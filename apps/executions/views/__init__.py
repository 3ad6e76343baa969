"""Execution pages: the run form, history, one run, its gates and its output."""
