"""The subscribe box and the digest preferences (the same form for subscribers with a
signed link and for members on their settings page)."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager

from paperfeed.digests.models import Subscription, time_zone_choices

CATEGORY = re.compile(r"[a-z-]+(\.[A-Za-z-]+)?")
# Preferences are not personal data a browser should fill in from elsewhere.
OFF = {"autocomplete": "off"}


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.org"}),
    )

    def clean_email(self) -> str:
        return BaseUserManager.normalize_email(self.cleaned_data["email"])


class PreferencesForm(forms.ModelForm):
    hour = forms.TypedChoiceField(
        label="At",
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        help_text="In your time zone.",
    )
    time_zone = forms.ChoiceField(label="Time zone", choices=time_zone_choices)
    trending_count = forms.TypedChoiceField(
        label="Trending papers",
        coerce=int,
        choices=[(n, str(n)) for n in (0, 3, 5, 10, 15, 20)],
        help_text="How many of the period's trending papers open the digest.",
    )
    categories = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs=OFF),
        help_text="A section of the new papers in each category you tick.",
    )
    other_categories = forms.CharField(
        label="Other categories",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs=OFF),
        help_text="arXiv categories, separated by commas, e.g. math.OC, quant-ph.",
    )

    class Meta:
        model = Subscription
        fields = ["frequency", "weekday", "hour", "time_zone", "trending_count", "categories"]
        labels = {"frequency": "How often", "weekday": "Weekly on"}
        help_texts = {"weekday": "For a weekly digest."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        site = list(settings.PAPERFEED_CATEGORIES)
        chosen = list(self.instance.categories or []) if self.instance.pk else []
        self.fields["categories"].choices = [(c, c) for c in site]
        self.fields["other_categories"].initial = ", ".join(c for c in chosen if c not in site)
        self.fields["frequency"].widget = forms.RadioSelect(
            choices=Subscription.Frequency.choices, attrs=OFF
        )

    def clean_other_categories(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data["other_categories"].split(",") if n.strip()]
        bad = [n for n in names if not CATEGORY.fullmatch(n)]
        if bad:
            raise forms.ValidationError(f"Not an arXiv category: {', '.join(bad)}")
        return names[:20]

    def clean(self):
        data = super().clean()
        extra = data.pop("other_categories", [])
        data["categories"] = list(dict.fromkeys([*data.get("categories", []), *extra]))
        return data

    def preferences(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
