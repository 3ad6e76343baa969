"""Helpers shared by the test areas: factories, the cast, execution fixtures, live stacks, payloads."""
