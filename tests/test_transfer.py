"""`paperfeed export` and `paperfeed import`: everything moves to a fresh instance (the
same engine, and on the PostgreSQL run to SQLite as well), and a bad file or a
non-empty instance gets a clear message with nothing written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection

from paperfeed import transfer
from paperfeed.api.tokens import create_token
from paperfeed.community import services as community
from paperfeed.community.models import Comment
from paperfeed.digests import services as digests
from paperfeed.digests.models import FollowedAuthor, SavedSearch
from paperfeed.papers.demo import fill_demo
from paperfeed.papers.models import Author, Paper
from tests.live import live_environment, run_cli

pytestmark = pytest.mark.django_db(transaction=True)


def paperfeed(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run_cli(env, *args, check=False, timeout=300)


def rows(path: Path) -> dict[tuple[str, object], dict]:
    """The export as {(model, pk): fields}, for comparing two exports."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[(row["model"], row["pk"])] = row["fields"]
    return out


@pytest.fixture
def filled():
    fill_demo(days=2, per_day=12, users=6)
    User = get_user_model()
    ada = User.objects.create_user("ada", "ada@example.invalid", "a-long-passphrase")
    moderators = Group.objects.create(name="moderators")
    moderators.permissions.add(Permission.objects.get(codename="change_comment"))
    ada.groups.add(moderators)
    ada.user_permissions.add(Permission.objects.get(codename="view_paper"))
    paper = Paper.objects.order_by("pk").first()
    community.toggle_vote(ada, paper)
    top = community.add_comment(ada, paper, "Hostile <script>alert(1)</script> **bold**")
    community.add_comment(ada, paper, "a reply", parent=top)
    digests.subscribe_member(ada, {"frequency": "weekly", "categories": ["cs.LG"]})
    SavedSearch.objects.create(user=ada, query="sparse attention")
    FollowedAuthor.objects.create(user=ada, author=Author.objects.order_by("pk").first())
    create_token(ada, "script", "write")
    return ada


def targets(tmp_path: Path) -> list[tuple[str, dict]]:
    """Fresh instances to import into: the engine under test, and SQLite from PostgreSQL."""
    found = [(connection.vendor, live_environment(tmp_path / "same"))]
    if connection.vendor == "postgresql":
        sqlite = live_environment(tmp_path / "sqlite")
        sqlite.pop("DATABASE_URL")
        found.append(("sqlite", sqlite))
    return found


def test_everything_moves_to_a_fresh_instance(filled, tmp_path):
    exported = tmp_path / "export.jsonl"
    with exported.open("w", encoding="utf-8") as stream:
        counts = transfer.export_to(stream, embeddings=True)
    assert counts["accounts.user"] == 7 and counts["papers.paper"] == 24
    assert counts["community.comment"] == Comment.objects.count() >= 2
    assert counts["digests.savedsearch"] == 1 and counts["api.accesstoken"] == 1
    original = rows(exported)
    (ada_row,) = [f for (m, _), f in original.items() if m == "accounts.user" and
                  f["username"] == "ada"]  # fmt: skip
    assert ada_row["password"].count("$") >= 2  # the hash travels (tests use a fast hasher)
    assert ada_row["user_permissions"] == [["view_paper", "papers", "paper"]]  # natural keys

    for engine, env in targets(tmp_path):
        done = paperfeed(env, "import", str(exported))
        assert done.returncode == 0, done.stderr
        assert f"imported {len(original):,} rows" in done.stdout
        again = tmp_path / f"again-{engine}.jsonl"
        assert paperfeed(env, "export", str(again)).returncode == 0
        assert rows(again) == original, engine
        # The search index was rebuilt from the imported papers.
        title = Paper.objects.order_by("pk").first().title
        found = paperfeed(env, "search", title, "--json", "--mode", "lexical")
        assert json.loads(found.stdout)[0]["title"] == title, engine
        # New rows get new ids (PostgreSQL's sequences were moved past the imported ones).
        fixture = Path(__file__).parent / "fixtures" / "arxiv_api_three.atom"
        added = paperfeed(env, "ingest", "file", str(fixture))
        assert added.returncode == 0, (engine, added.stdout, added.stderr)
        # A second import is refused and changes nothing.
        refused = paperfeed(env, "import", str(exported))
        assert refused.returncode == 1 and "already holds data" in refused.stderr
        assert paperfeed(env, "export", str(again)).returncode == 0
        assert len(rows(again)) > len(original)  # the ingest's papers, nothing else lost
        assert original.keys() <= rows(again).keys()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"model": "papers.paper", "pk": 1, "fields": {}}\nnot json\n', "line 2: not JSON"),
        (b'{"model": "sessions.session", "pk": "x", "fields": {}}\n', "is not exported data"),
        (b"[1, 2]\n", "line 1: not an exported object"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"\n\n", "holds no data"),
    ],
)
def test_a_bad_file_is_refused_before_anything_is_written(tmp_path, content, words):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(transfer.TransferError, match=words):
        transfer.import_from(path)
    assert transfer.occupied() == []


def test_a_file_that_fails_to_load_leaves_nothing_behind(tmp_path):
    """A comment whose paper is not in the file: the load fails at the constraint check,
    and the papers and members before it are rolled back."""
    path = tmp_path / "dangling.jsonl"
    user = {"model": "accounts.user", "pk": 1, "fields": {
        "username": "bo", "email": "bo@example.invalid", "password": "!", "is_active": True,
        "date_joined": "2024-12-04T00:00:00Z", "groups": [], "user_permissions": []}}  # fmt: skip
    comment = {"model": "community.comment", "pk": 1, "fields": {
        "paper": 999, "user": 1, "parent": None, "body": "x", "body_html": "<p>x</p>",
        "hidden": False, "created_at": "2024-12-04T00:00:00Z", "edited_at": None,
        "deleted_at": None}}  # fmt: skip
    path.write_text(json.dumps(user) + "\n" + json.dumps(comment) + "\n")
    with pytest.raises(transfer.TransferError, match="nothing was imported"):
        transfer.import_from(path)
    assert transfer.occupied() == []


def test_import_refuses_an_instance_with_data_and_keeps_it(filled, tmp_path):
    exported = tmp_path / "export.jsonl"
    with exported.open("w", encoding="utf-8") as stream:
        transfer.export_to(stream, embeddings=False)
    before = rows(exported)
    with pytest.raises(transfer.TransferError, match="already holds data"):
        transfer.import_from(exported)
    after = tmp_path / "after.jsonl"
    with after.open("w", encoding="utf-8") as stream:
        transfer.export_to(stream, embeddings=False)
    assert rows(after) == before
