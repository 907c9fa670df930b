"""Votes, discussion, submissions, collections and authorship claims."""

from django.http import HttpResponse


def _todo(*args, **kwargs) -> HttpResponse:  # replaced by the community work in progress
    return HttpResponse("not built yet", status=501)


submit = vote = comment = claim = paper_collections = _todo
comment_edit = comment_delete = comment_hide = collections = collection = _todo
