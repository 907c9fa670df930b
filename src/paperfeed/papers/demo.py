"""Generated demo data (`paperfeed serve --demo`): papers, people, votes and comments, so a
newcomer sees a living site with no network. All text is made up from word lists here.

Papers go through the normal ingest path (records -> store_batch); ids use the "9912."
prefix range, which real new-style arXiv ids never reach (they started in 2007).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from paperfeed.community.markdown import render_markdown
from paperfeed.community.models import Comment, Vote
from paperfeed.papers.models import Listing, Paper
from paperfeed.papers.records import ListingInfo, PaperRecord, validate
from paperfeed.papers.upsert import store_batch

ADJECTIVES = [
    "Sparse",
    "Scalable",
    "Robust",
    "Efficient",
    "Calibrated",
    "Causal",
    "Hierarchical",
    "Self-Supervised",
    "Contrastive",
    "Adaptive",
    "Federated",
    "Multimodal",
    "Provable",
    "Lightweight",
    "Diffusion-Based",
    "Equivariant",
    "Retrieval-Augmented",
    "Low-Rank",
]
NOUNS = [
    "Attention",
    "Transformers",
    "Mixture-of-Experts",
    "Graph Networks",
    "Tokenizers",
    "World Models",
    "Reward Models",
    "State-Space Models",
    "Embeddings",
    "Optimizers",
    "Vision Encoders",
    "Agents",
    "Policies",
    "Kernels",
    "Autoencoders",
]
TASKS = [
    "Long-Context Reasoning",
    "Protein Folding",
    "Code Generation",
    "Video Understanding",
    "Speech Recognition",
    "Theorem Proving",
    "Weather Forecasting",
    "Robot Manipulation",
    "Machine Translation",
    "Image Segmentation",
    "Tabular Prediction",
    "Question Answering",
]
VERBS = ["improves", "halves the cost of", "stabilises", "simplifies", "scales", "explains"]
FIRST = [
    "Ada",
    "Bo",
    "Chen",
    "Dara",
    "Emil",
    "Fatima",
    "Goran",
    "Hana",
    "Ivo",
    "Jun",
    "Kiri",
    "Lena",
    "Mateo",
    "Noor",
    "Oren",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomas",
    "Uma",
    "Vik",
    "Wen",
    "Yara",
    "Zoltan",
    "Søren",
    "Zoë",
    "José",
]
LAST = [
    "Abara",
    "Berg",
    "Castillo",
    "Dimitrov",
    "Eriksen",
    "Fujita",
    "Garcia",
    "Haddad",
    "Ilic",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quint",
    "Rossi",
    "Sato",
    "Tanaka",
    "Urban",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Núñez",
]
COMMENTS = [
    "Nice ablations in section 4.",
    "Does this hold at larger scale?",
    "The code release is very welcome.",
    "How does this compare to the baseline from last month?",
    "Figure 3 is the key result for me.",
    "I tried it on my data: works as advertised.",
]


def _title(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} for {rng.choice(TASKS)}"


def _abstract(rng: random.Random, title: str) -> str:
    task = title.split(" for ")[-1].lower()
    sentences = [
        f"We study {task} through the lens of {rng.choice(NOUNS).lower()}.",
        f"Our method {rng.choice(VERBS)} existing pipelines by replacing dense computation with "
        f"{rng.choice(ADJECTIVES).lower()} {rng.choice(NOUNS).lower()}.",
        f"On {rng.randint(3, 12)} benchmarks it {rng.choice(VERBS)} strong baselines, with "
        f"$\\mathcal{{O}}(n \\log n)$ cost instead of $\\mathcal{{O}}(n^2)$.",
        f"We release code and {rng.randint(2, 9)} pretrained checkpoints.",
    ]
    return " ".join(sentences)


def demo_records(days: int = 7, per_day: int = 40, seed: int = 7) -> list[PaperRecord]:
    rng = random.Random(seed)
    today = timezone.localdate()
    categories = settings.PAPERFEED_CATEGORIES or ["cs.LG"]
    records = []
    number = 0
    for offset in range(days):
        day = today - timedelta(days=offset)
        for _ in range(per_day):
            number += 1
            title = _title(rng)
            arxiv_id = f"9912.{number:05d}"
            slug = title.split()[1].lower().strip("-")
            comments = (
                f"{rng.randint(8, 30)} pages. Code: https://github.com/demo-lab/{slug}-{number}"
            )
            published = datetime.combine(day - timedelta(days=1), time(18), tzinfo=UTC)
            record = PaperRecord(
                arxiv_id=arxiv_id,
                version=1,
                title=title,
                abstract=_abstract(rng, title),
                authors=[
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 7))
                ],
                categories=rng.sample(categories, k=min(len(categories), rng.randint(1, 2))),
                published_at=published,
                updated_at=published,
                versions=[{"version": 1, "date": published.isoformat()}],
                comments=comments if rng.random() < 0.6 else f"{rng.randint(8, 30)} pages",
                license="http://creativecommons.org/licenses/by/4.0/",
                listing=ListingInfo(date=day, source=Listing.Source.DEMO, announce_type="new"),
                source="demo",
                place=arxiv_id,
            )
            records.append(validate(record))
    return records


def fill_demo(days: int = 7, per_day: int = 40, users: int = 25, seed: int = 7) -> dict:
    """Fill an empty instance with demo data; does nothing if papers exist already."""
    if Paper.objects.exists():
        return {"skipped": "the instance already has papers"}
    rng = random.Random(seed)
    records = demo_records(days, per_day, seed)
    store_batch(records)
    User = get_user_model()
    people = []
    for i in range(users):
        user, _ = User.objects.get_or_create(
            username=f"demo{i + 1}", defaults={"email": f"demo{i + 1}@example.invalid"}
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        people.append(user)
    papers = list(Paper.objects.filter(source="demo"))
    with transaction.atomic():
        votes, comments = [], []
        for paper in papers:
            # A few papers take most of the votes, as on a real day.
            popularity = rng.paretovariate(1.3) - 1
            voters = rng.sample(people, k=min(len(people), int(popularity * 3)))
            votes += [Vote(user=user, paper=paper) for user in voters]
            for _ in range(rng.choice([0, 0, 0, 1, 2])):
                comments.append(
                    Comment(
                        paper=paper,
                        user=rng.choice(people),
                        body=(body := rng.choice(COMMENTS)),
                        body_html=render_markdown(body),
                    )
                )
        Vote.objects.bulk_create(votes, ignore_conflicts=True)
        Comment.objects.bulk_create(comments)
        for paper in Paper.objects.filter(source="demo").annotate(
            n_votes=Count("votes", distinct=True), n_comments=Count("comment_set", distinct=True)
        ):
            Paper.objects.filter(pk=paper.pk).update(
                upvotes=paper.n_votes, num_comments=paper.n_comments
            )
    return {
        "papers": len(papers),
        "votes": len(votes),
        "comments": len(comments),
        "users": len(people),
    }
