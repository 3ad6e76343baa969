from django import forms


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, help_text="Username, exact")
    action = forms.CharField(required=False, max_length=64, help_text="e.g. runbook.publish, or runbook. for all")
    object_type = forms.CharField(required=False, max_length=64, label="Object type")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned
