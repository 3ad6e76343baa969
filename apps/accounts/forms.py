from django import forms

from apps.accounts.models import TOKEN_NAME_MAX_LENGTH


class ApiTokenForm(forms.Form):
    """Only carries the field; the rules (empty, too long, duplicate) live in api_token_create."""

    name = forms.CharField(
        required=False,
        strip=False,
        label="Token name",
        help_text="Where the token will be used, e.g. “CI pipeline” or “laptop CLI”.",
        widget=forms.TextInput(attrs={"maxlength": TOKEN_NAME_MAX_LENGTH, "autocomplete": "off"}),
    )
