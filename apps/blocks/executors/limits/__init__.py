"""Bounds on what a sandboxed expression or template may build, so a runbook cannot exhaust a worker.

Jinja's sandbox stops escapes, not allocation: `'x'.ljust(20000000)` or `'%30000000d' % 1` build tens
of megabytes in one step. Every way a value comes into being in the sandbox is checked here:

- Before the work, where a small input asks for a big result: widths and precisions in `%`,
  `str.format` and the `format` filter, `ljust`/`rjust`/`center`/`zfill`/`expandtabs`, `*` repeats,
  `**`, `replace`, `join`, `translate`, `to_bytes`, `lipsum`, `indent`, `wordwrap`, `batch`, `slice`,
  `tojson(indent=…)`, `urlize(target=…)`; generators are drawn into lists item by item with a
  running total, so `range(…)|map(…)|join` stops at the limit instead of after it.
- After the work, on every result of a call, operator, filter, `~` and list/tuple/dict literal:
  its size written out (deep, so shared references count every time they would be printed).
- Throughout: CPU time of the evaluating thread, checked on each of those and on every loop turn.
  The code generator routes loops, `*args`, `~` and literals through the environment's
  `bounded_*` methods (Jinja's documented `code_generator_class` hook).

A built value may be twice as large as the run data the expression reads (a step result bigger
than 64 KiB may still be filtered, encoded or passed on), at least `MAX_VALUE_CHARS` and at most
`MAX_CEILING_CHARS`; all values one evaluation builds together at most `MAX_BUILT_CHARS`; a whole
template may render to `MAX_RENDERED_CHARS` (an API call body may be 1 MiB). Templates may use `if`,
`for` and `set name = …` only: macros, call/filter blocks and block `set` build buffers out of sight.

The package: `budget` (the bounds, the running budget, measuring a value), `calls` (checks before
a method call or filter runs) and `sandbox` (the code generator and environment that route every
allocation through them).
"""
