"""What the layers above add to a runbook's page, which runbooks cannot import.

executions adds the Run controls (which versions this user may run, or why not) from its
AppConfig.ready(); the runbook page merges whatever is registered into its context.
"""

from collections.abc import Callable

from apps.runbooks.models import Runbook

PageContext = Callable[..., dict]
_providers: list[PageContext] = []


def runbook_page_provider(provider: PageContext) -> PageContext:
    """Register `provider(user, runbook) -> dict`; its keys join the runbook page's context."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def runbook_page_extras(user, runbook: Runbook) -> dict:
    context: dict = {}
    for provider in _providers:
        context.update(provider(user, runbook))
    return context
