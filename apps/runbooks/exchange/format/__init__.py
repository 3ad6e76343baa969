"""The runbook file format (docs/runbook-format.md): render a runbook as Markdown, and parse one back.

This module knows text only: credentials and environments are names here, and nothing touches the
database. `render` and `parse` are exact inverses for everything the services store, so exporting
an unchanged runbook gives the same bytes and a round trip gives the same content.

Line numbers are 1-based lines of the file, so every problem can say where it is.

The package: `schema` (the format's names, fields and parsed shapes), `yaml_text` (stable YAML out,
alias-free YAML in, with lines), `render` (a runbook to a file), `front_matter`, `blocks` (a fence
to a block) and `parse` (a file back to a runbook).
"""
