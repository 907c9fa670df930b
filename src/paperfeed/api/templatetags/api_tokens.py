"""{% access_tokens user as tokens %}: the settings page lists a member's tokens without
the accounts app's view having to know about the API."""

from django import template

from paperfeed.api import tokens

register = template.Library()


@register.simple_tag
def access_tokens(user) -> list:
    return tokens.tokens_of(user)
