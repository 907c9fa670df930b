"""Background jobs of the search app."""

from django_tasks import task


@task()
def embed_papers_task(paper_ids: list[int]) -> int:
    from paperfeed.search.semantic import embed_papers

    return embed_papers(paper_ids)
