"""HTML forms for credentials. They only shape the input; every rule lives in services."""

from django import forms

from apps.credentials.models import MIN_SECRET_LENGTH, CredentialKind


class CredentialForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Letters, digits, “-”, “_” and “.”; runs see it as a file name.")
    kind = forms.ChoiceField(choices=CredentialKind.choices)
    username = forms.CharField(required=False, max_length=200, help_text="Basic auth only.")
    header_name = forms.CharField(required=False, max_length=100, help_text="Header credentials only, e.g. X-Api-Key.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # render_value=False: a re-displayed form (after an error) never sends the secret back.
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=f"At least {MIN_SECRET_LENGTH} characters. Nobody can read it back once saved.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["secret"].label = "New secret"
            self.fields["secret"].help_text = "Leave empty to keep the current secret; anything typed replaces it."
