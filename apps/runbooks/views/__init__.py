"""Runbook pages: authoring, sharing, the blocks editor, versions and the demo button."""
