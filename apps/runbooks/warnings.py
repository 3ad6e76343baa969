"""Save-time warnings: what a saved block can only fail with later, at run time.

Warnings never block a save (an allow-list may change, a parameter may be given at run time); the
block shows them so the author learns at 2 p.m. rather than the operator at 3 a.m.

- An api_call URL whose host the SSRF guard would refuse. Only hosts judged without asking DNS are
  checked (literal IPs in any spelling the resolver accepts, `localhost`): a save must not depend on,
  or leak names to, the network. The guard's own check decides, allow-list included, so the two
  cannot disagree.
- A conditional expression that fails on the runbook's parameter defaults (an unknown name, a type
  error). What depends on an earlier step's output or result cannot be known before a run, so an
  error there is no warning.
"""

import re
import socket

import httpx

from apps.blocks.executors import ssrf
from apps.blocks.executors.templating import RenderError, compile_expression, make_context, render_url
from apps.runbooks.models import Block

# The parts of an earlier step that only a run fills in; an error naming them is not the author's.
RUN_DATA_RE = re.compile(r"'steps\.[A-Za-z0-9_-]+\.(output|result)\b")


def _default_params(parameters: list[dict]) -> dict[str, str]:
    # As params_clean fills them for a run that gives nothing: every value is text.
    return {
        parameter["name"]: parameter.get("default") or "" for parameter in parameters or [] if parameter.get("name")
    }


def _placeholder_steps(earlier: list[tuple[str, str]]) -> dict[str, dict]:
    # The shape later steps see of an earlier one; only a command step has an exit code.
    return {
        key: {"status": "succeeded", "exit_code": 0 if kind == "command" else None, "output": "", "result": {}}
        for key, kind in earlier
    }


def _judged_without_dns(host: str) -> bool:
    host = ssrf.normalise_host(host)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return False
    return True


def url_warning(url_template: str, *, params: dict[str, str]) -> str | None:
    """The guard's refusal of the URL (rendered on the defaults), or None."""
    try:
        url = httpx.URL(render_url(url_template, make_context(params, {})))
    except (RenderError, httpx.InvalidURL):
        # Refers to earlier steps, or is not a URL yet: the run decides (validation checks the form).
        return None
    host = url.raw_host.decode("ascii", "replace")
    if not host or not _judged_without_dns(host):
        return None
    try:
        ssrf.resolve_and_check(host, url.port or (443 if url.scheme == "https" else 80))
    except ssrf.Refused as refusal:
        return f"This call will be refused when it runs. {refusal}"
    return None


def expression_warning(expression: str, *, params: dict[str, str], earlier: list[tuple[str, str]]) -> str | None:
    """Why the expression cannot evaluate on the parameter defaults, or None."""
    try:
        evaluate = compile_expression(expression)
    except RenderError:
        # A syntax error is refused on save; nothing to warn about here.
        return None
    try:
        bool(evaluate(make_context(params, _placeholder_steps(earlier))))
    except RenderError as error:
        message = str(error)
        if RUN_DATA_RE.search(message):
            return None
        if earlier and "steps." in expression and "is undefined" not in message:
            # A type error may come from a placeholder standing in for an earlier step's values.
            return None
        return (
            f"This condition cannot be evaluated with the parameters' defaults, so the run would fail here: {message}"
        )
    return None


def config_warnings(
    *, kind: str, config: dict, parameters: list[dict], earlier: list[tuple[str, str]] | None = None
) -> list[str]:
    """Warnings for one block's config; `earlier` is [(key, kind)] of the blocks before it."""
    params = _default_params(parameters)
    found: list[str | None] = []
    if kind == "api_call" and isinstance(config.get("url"), str):
        found.append(url_warning(config["url"], params=params))
    elif kind == "conditional" and isinstance(config.get("expression"), str):
        found.append(expression_warning(config["expression"], params=params, earlier=earlier or []))
    return [warning for warning in found if warning]


def block_warnings(*, block: Block) -> list[str]:
    """Warnings for a saved block, judged against its runbook's parameters and the blocks before it."""
    if block.kind not in ("api_call", "conditional"):
        return []
    runbook = block.runbook
    earlier: list[tuple[str, str]] = []
    if block.kind == "conditional":
        for key, kind, pk in runbook.blocks.values_list("key", "kind", "pk"):
            if pk == block.pk:
                break
            earlier.append((key, kind))
    return config_warnings(
        kind=block.kind, config=block.config or {}, parameters=runbook.parameters or [], earlier=earlier
    )
