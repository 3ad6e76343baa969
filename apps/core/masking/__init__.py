"""Masking of secrets in run output, before anything is stored or streamed (Masker, in masker.py).

A secret can leave a step in several spellings: as is, base64-encoded (in an Authorization: Basic
header, a Kubernetes secret, a JSON body …), URL-encoded or JSON-escaped. Base64 depends on where
the secret starts within a 3-byte group, so each of the three alignments has its own spelling;
only the characters that depend on the secret alone are stable, and those are what is matched.

A spelling is also found when what was printed between its characters is invisible to a reader,
because a renderer or a terminal would join it back (issue 12): every spelling is looked for in
three views of the text, and a match in any of them masks the raw characters it came from:
- the raw text;
- the text as read: escape sequences (ESCAPE_SEQUENCE, shared with the page's renderer) and
  control, format and line/paragraph separator characters removed, so `Z\\x01Q`, `Z\\x1b[0mQ`,
  `Z\\rQ`, `Z\\bQ`, `Z\\nQ` and `Z\\u200bQ` all read `ZQ`;
- the text as a terminal leaves it after a redraw: carriage return, backspace and cursor-left /
  column moves overwrite what the line showed (`?QX\\rZ` shows `ZQX`), followed in the first
  TERMINAL_COLUMNS columns of each line.
The spellings are in spellings.py, the read view in reading.py, the terminal view in terminal.py.
What masking cannot recognise (a secret transformed by the script) is said in docs/security.md.
"""
