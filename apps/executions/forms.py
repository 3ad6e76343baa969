"""Forms of the executions pages. They only shape input; the services hold every rule."""

from django import forms

from apps.executions.models import ExecutionStatus


class HistoryFilterForm(forms.Form):
    """The history filters, read from the query string; bad values are reported, not guessed."""

    status = forms.ChoiceField(choices=[("", "Any status"), *ExecutionStatus.choices], required=False)
    runbook = forms.IntegerField(required=False, min_value=1)
    person = forms.CharField(required=False, max_length=150, label="Started by")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "Pick a date on or after the start date.")
        return cleaned
