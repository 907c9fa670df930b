"""What goes into a digest: sections of papers, each paper with why it is there.

A digest is built from what its period offers (PeriodContent: the papers new in the
window, ranked, with the trending order, category members, saved-search matches and
followed authors' papers), computed once per run and shared by every subscriber, and
from what the subscriber asked for, less every paper they were already sent. That
sharing is what lets a run build thousands of personal digests in seconds.

Sections, in order: trending; "for you" (an empty slot the recommendations will fill);
one per saved search; followed authors; one per chosen category. A paper appears once
per digest, in its first section, with every reason that picked it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from paperfeed.digests.models import Subscription
from paperfeed.papers.models import Paper, PaperAuthor, PaperCategory
from paperfeed.papers.selectors import listed, trending_ids
from paperfeed.search.backends import get_backend
from paperfeed.search.backends.base import Filters
from paperfeed.search.query import parse_query

# How many days of papers a digest looks at: the list days up to today (a daily digest
# also takes yesterday's, for papers listed after the subscriber's hour).
WINDOW_DAYS = {Subscription.Frequency.DAILY: 2, Subscription.Frequency.WEEKLY: 7}
SEARCH_CANDIDATES = 100
MAX_ITEMS = 60


@dataclass
class Item:
    paper_id: int
    # Each reason is a list: ["trending"], ["for_you", why], ["search", query],
    # ["author", name] or ["category", "cs.LG"].
    reasons: list[list[str]]


@dataclass
class Section:
    kind: str  # trending, for_you, search, authors, category
    title: str
    items: list[Item] = field(default_factory=list)


def sections_to_json(sections: list[Section]) -> list[dict]:
    return [
        {"kind": s.kind, "title": s.title, "items": [[i.paper_id, i.reasons] for i in s.items]}
        for s in sections
    ]


def sections_from_json(data: list[dict]) -> list[Section]:
    return [
        Section(s["kind"], s["title"], [Item(pid, reasons) for pid, reasons in s["items"]])
        for s in data
    ]


def paper_ids(sections: list[Section]) -> list[int]:
    return [item.paper_id for section in sections for item in section.items]


@dataclass
class Wants:
    """What one subscriber asked for."""

    trending: int
    categories: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    authors: list[tuple[int, str]] = field(default_factory=list)  # (author id, name)


def for_you(subscription: Subscription, period: PeriodContent) -> list[tuple[int, str]]:
    """Personal picks as (paper id, one-line reason), best first. The slot for the
    recommendations: empty until a recommender exists."""
    return []


class PeriodContent:
    """Everything a digest of one frequency can draw on at one moment."""

    def __init__(self, frequency: str, now: datetime | None = None):
        self.frequency = frequency
        self.now = now or timezone.now()
        self.end = timezone.localdate(self.now)
        self.start = self.end - timedelta(days=WINDOW_DAYS[frequency] - 1)
        since = timezone.make_aware(datetime.combine(self.start, datetime.min.time()))
        self.window: QuerySet = Paper.objects.filter(
            Q(pk__in=listed().filter(date__range=(self.start, self.end)).values("paper_id"))
            | Q(published_at__gte=since)
        )
        rows = self.window.values_list("pk", "upvotes", "num_comments")
        # Sections other than trending list the most upvoted first, then the newest.
        order = sorted(rows, key=lambda row: (row[1], row[2], row[0]), reverse=True)
        self.rank = {pk: position for position, (pk, _, _) in enumerate(order)}
        self.trending = [pk for pk, _ in trending_ids("week") if pk in self.rank]
        self._categories: dict[str, list[int]] | None = None
        self._searches: dict[str, list[int]] = {}
        self._authors: dict[int, list[int]] = {}

    def _ranked(self, ids) -> list[int]:
        return sorted(set(ids), key=self.rank.__getitem__)

    def in_category(self, category: str) -> list[int]:
        if self._categories is None:
            members = defaultdict(list)
            rows = PaperCategory.objects.filter(paper_id__in=self.window.values("pk"))
            for name, pk in rows.values_list("category", "paper_id"):
                members[name].append(pk)
            self._categories = {name: self._ranked(ids) for name, ids in members.items()}
        return self._categories.get(category, [])

    def matching(self, query: str) -> list[int]:
        """New papers that a saved search finds: every word of the query, as the search
        page's first results (an alert must be explainable by its words, so no
        embedding's idea of closeness and no "any of the words" fallback)."""
        if query not in self._searches:
            parsed = parse_query(query)
            if parsed.arxiv_id:
                found = Paper.objects.filter(arxiv_id=parsed.arxiv_id).values_list("pk", flat=True)
            else:
                filters = Filters(
                    categories=parsed.categories, date_from=self.start - timedelta(days=7)
                )
                page = get_backend().search_strict(parsed, filters, limit=SEARCH_CANDIDATES)
                found = [hit.paper_id for hit in page.hits]
            self._searches[query] = self._ranked(pk for pk in found if pk in self.rank)
        return self._searches[query]

    def load_authors(self, author_ids: set[int]) -> None:
        """Fetch the window's papers of many authors at once (one query per batch)."""
        missing = author_ids - self._authors.keys()
        if not missing:
            return
        found = defaultdict(list)
        rows = PaperAuthor.objects.filter(
            author_id__in=missing, paper_id__in=self.window.values("pk")
        ).values_list("author_id", "paper_id")
        for author_id, pk in rows:
            found[author_id].append(pk)
        for author_id in missing:
            self._authors[author_id] = self._ranked(found.get(author_id, []))

    def by_author(self, author_id: int) -> list[int]:
        self.load_authors({author_id})
        return self._authors[author_id]

    def build(
        self, subscription: Subscription, wants: Wants, already_sent: set[int]
    ) -> list[Section]:
        """The sections of one subscriber's digest; papers in `already_sent` are left out."""
        size = settings.PAPERFEED_DIGEST_SECTION_SIZE
        digest = _Digest(already_sent)
        weekly = self.frequency == Subscription.Frequency.WEEKLY
        trending = digest.section("trending", "Trending this week" if weekly else "Trending")
        digest.fill(trending, ((pk, ["trending"]) for pk in self.trending), wants.trending)
        picks = digest.section("for_you", "For you")
        digest.fill(
            picks, ((pk, ["for_you", why]) for pk, why in for_you(subscription, self)), size
        )
        for query in wants.searches:
            section = digest.section("search", f"Saved search “{query}”")
            digest.fill(section, ((pk, ["search", query]) for pk in self.matching(query)), size)
        authors = digest.section("authors", "Authors you follow")
        # Each author's best paper in turn, so that one prolific author cannot fill it.
        queues = [(name, self.by_author(author_id)) for author_id, name in wants.authors]
        digest.fill(authors, ((pk, ["author", name]) for name, pk in _round_robin(queues)), size)
        for category in wants.categories:
            section = digest.section("category", f"New in {category}")
            digest.fill(
                section, ((pk, ["category", category]) for pk in self.in_category(category)), size
            )
        return digest.sections()


class _Digest:
    """Sections being filled, each paper once (in its first section, with all reasons)."""

    def __init__(self, already_sent: set[int]):
        self.already_sent = already_sent
        self.chosen: dict[int, Item] = {}
        self._sections: list[Section] = []

    def section(self, kind: str, title: str) -> Section:
        self._sections.append(Section(kind, title))
        return self._sections[-1]

    def fill(self, section: Section, candidates, limit: int) -> None:
        for pk, reason in candidates:
            if pk in self.already_sent:
                continue
            if pk in self.chosen:  # in an earlier section: say why it fits here too
                if reason not in self.chosen[pk].reasons:
                    self.chosen[pk].reasons.append(reason)
                continue
            if len(section.items) >= limit or len(self.chosen) >= MAX_ITEMS:
                break
            self.chosen[pk] = Item(pk, [reason])
            section.items.append(self.chosen[pk])

    def sections(self) -> list[Section]:
        return [section for section in self._sections if section.items]


def _round_robin(queues: list[tuple[str, list[int]]]):
    """(name, paper) pairs: each queue's first, then each one's second, and so on."""
    depth = max((len(ids) for _, ids in queues), default=0)
    for position in range(depth):
        for name, ids in queues:
            if position < len(ids):
                yield name, ids[position]
