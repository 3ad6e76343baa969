from django import template

register = template.Library()


@register.filter
def credential_names(ids) -> str:
    """Names of the credentials a block refers to (names are not secret; values never leave the store)."""
    from apps.credentials.models import Credential

    if isinstance(ids, int):
        ids = [ids]
    if not ids:
        return ""
    names = dict(Credential.objects.filter(pk__in=ids).values_list("pk", "name"))
    return ", ".join(names.get(pk, f"#{pk} (deleted)") for pk in ids)
