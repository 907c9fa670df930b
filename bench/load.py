"""Load test: many concurrent signed-in clients reading and voting against a live
`paperfeed serve`, from this second process, over loopback.

    python bench/load.py                       # 50 clients, 120 s, a fresh demo instance
    python bench/load.py --clients 20 --duration 30 --workers 2 --threads 8

It builds a fresh instance in a temporary home (a demo corpus whose busiest day has
--per-day papers, plus one signed-in account per client), starts `paperfeed serve`, then:

1. a quiet phase: --quiet sequential requests to the busiest day's page, to paper
   pages and to /about/ranking (the baseline: a page with no list), reporting server
   time (the Server-Timing header) and client latency;
2. the load phase: --clients clients for --duration seconds, each looping over the
   daily page, a paper page, the week or trending list, and an upvote toggle
   (POST with JSON, as the page's script does), with no think time;
3. a consistency check in the database: every paper's upvote counter equals its rows.

Any status >= 400 or transport error counts as an error. Results print as a table and
go to bench/out/load-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

OUT = Path(__file__).parent / "out"
SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from paperfeed.papers.demo import fill_demo
from paperfeed.papers.models import Listing
fill_demo(days={days}, per_day={per_day}, users=10)
User = get_user_model()
keys = []
for i in range({clients}):
    name = f"load{{i}}"
    user, _ = User.objects.get_or_create(username=name, defaults={{"email": name + "@x.invalid"}})
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "paperfeed.accounts.backends.UsernameOrEmailBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
day = Listing.objects.order_by("-date").values_list("date", flat=True).first()
ids = list(Listing.objects.filter(date=day).values_list("paper__arxiv_id", flat=True))
year, week, _ = day.isocalendar()
print("SETUP" + json.dumps({{"sessions": keys, "day": day.isoformat(), "ids": ids,
                            "week": f"{{year}}-W{{week:02d}}"}}))
"""
CHECK = """
import json
from django.db.models import Count, F
from paperfeed.community.models import Vote
from paperfeed.papers.models import Paper
wrong = Paper.objects.annotate(n=Count("votes")).exclude(upvotes=F("n")).count()
print("CHECK" + json.dumps({"papers_with_wrong_count": wrong, "votes": Vote.objects.count()}))
"""


def manage(env: dict, code: str, marker: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "paperfeed", "manage", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker) :])
    raise SystemExit(f"setup failed:\n{result.stdout}\n{result.stderr}")


def start_server(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paperfeed",
            "serve",
            "--port",
            str(port),
            "--no-fetch",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],  # fmt: skip
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "serving on" in line:
            # Keep draining the output so the server never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process
        if not line and process.poll() is not None:
            break
    raise SystemExit("server did not start")


def server_ms(response: httpx.Response) -> float | None:
    match = re.search(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
    return float(match.group(1)) if match else None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Stats:
    def __init__(self) -> None:
        self.client: dict[str, list[float]] = defaultdict(list)
        self.server: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def record(self, route: str, started: float, response: httpx.Response | None, error=None):
        self.client[route].append((time.perf_counter() - started) * 1000)
        if response is not None:
            if (ms := server_ms(response)) is not None:
                self.server[route].append(ms)
            if response.status_code >= 400:
                self.errors[route].append(f"HTTP {response.status_code}")
        if error is not None:
            self.errors[route].append(repr(error)[:200])

    def table(self, seconds: float) -> list[dict]:
        rows = []
        for route in sorted(self.client):
            client, server = self.client[route], self.server[route]
            rows.append(
                {
                    "route": route,
                    "requests": len(client),
                    "per_s": round(len(client) / seconds, 1),
                    "errors": len(self.errors[route]),
                    "client_p50": round(statistics.median(client), 1),
                    "client_p95": round(pct(client, 0.95), 1),
                    "client_p99": round(pct(client, 0.99), 1),
                    "server_p50": round(statistics.median(server), 1) if server else None,
                    "server_p95": round(pct(server, 0.95), 1) if server else None,
                }
            )
        return rows


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    head = ["route", "requests", "per_s", "errors", "client_p50", "client_p95", "client_p99",
            "server_p50", "server_p95"]  # fmt: skip
    print("  ".join(f"{h:>11}" for h in head))
    for row in rows:
        print("  ".join(f"{row[h]!s:>11}" for h in head))


async def request(client, stats, route, method, url, **kwargs):
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        stats.record(route, started, None, exc)
        return None
    stats.record(route, started, response)
    return response


async def one_client(base, session_key, setup, stats, stop_at, rng):
    csrf = secrets.token_hex(16)  # a 32-character secret: Django accepts it unmasked
    cookies = {"sessionid": session_key, "csrftoken": csrf}
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as client:
        day, ids = setup["day"], setup["ids"]
        while time.monotonic() < stop_at:
            await request(client, stats, "day", "GET", f"/papers/date/{day}")
            arxiv_id = rng.choice(ids)
            await request(client, stats, "paper", "GET", f"/papers/{arxiv_id}")
            if rng.random() < 0.5:
                await request(client, stats, "trending", "GET", "/papers/trending")
            else:
                await request(client, stats, "week", "GET", f"/papers/week/{setup['week']}")
            await request(
                client,
                stats,
                "vote",
                "POST",
                f"/papers/{arxiv_id}/vote",
                headers={"X-CSRFToken": csrf, "Accept": "application/json"},
            )


async def quiet_phase(base, setup, count) -> Stats:
    stats = Stats()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(count):
            await request(client, stats, "day (quiet)", "GET", f"/papers/date/{setup['day']}")
            arxiv_id = setup["ids"][i % len(setup["ids"])]
            await request(client, stats, "paper (quiet)", "GET", f"/papers/{arxiv_id}")
            # Baseline in the same run: a page with no list and no query of its own.
            await request(client, stats, "baseline (quiet)", "GET", "/about/ranking")
    return stats


async def load_phase(base, setup, clients, duration, seed) -> tuple[Stats, float]:
    stats = Stats()
    started = time.monotonic()
    stop_at = started + duration
    await asyncio.gather(
        *(
            one_client(base, key, setup, stats, stop_at, random.Random(seed + i))
            for i, key in enumerate(setup["sessions"][:clients])
        )
    )
    return stats, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--per-day", type=int, default=200, help="papers on the busiest day")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--quiet", type=int, default=200, help="sequential requests per page")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in the home)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="paperfeed-load-")
    env = {**os.environ, "PAPERFEED_HOME": home, "PAPERFEED_SEMANTIC": "off"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    # Abuse limits are for people; this is a benchmark of 50 very fast clients.
    env["PAPERFEED_RATE_VOTES"] = "100000/m"
    print(f"setting up {args.days} days, {args.per_day} papers on the busiest, in {home}")
    subprocess.run([sys.executable, "-m", "paperfeed", "manage", "migrate", "-v0"], env=env,
                   check=True)  # fmt: skip
    setup = manage(
        env,
        SETUP.format(days=args.days, per_day=args.per_day, clients=args.clients),
        "SETUP",
    )
    port = free_port()
    server = start_server(env, port, args.workers, args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        quiet = asyncio.run(quiet_phase(base, setup, args.quiet))
        print_table(f"quiet phase: {args.quiet} sequential requests per page", quiet.table(1))
        print(f"\nload phase: {args.clients} clients for {args.duration:.0f} s ...")
        loaded, seconds = asyncio.run(
            load_phase(base, setup, args.clients, args.duration, args.seed)
        )
        print_table(f"load phase: {args.clients} clients, {seconds:.0f} s", loaded.table(seconds))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    check = manage(env, CHECK, "CHECK")
    errors = sum(len(v) for v in loaded.errors.values())
    total = sum(len(v) for v in loaded.client.values())
    print(f"\nrequests: {total}, errors: {errors}, throughput: {total / seconds:.0f}/s")
    print(f"consistency: {check}")
    for route, messages in loaded.errors.items():
        if messages:
            print(f"  {route}: {sorted(set(messages))[:5]}")
    OUT.mkdir(exist_ok=True)
    result = {
        "args": vars(args),
        "quiet": quiet.table(1),
        "load": loaded.table(seconds),
        "requests": total,
        "errors": errors,
        "check": check,
        "cpu_count": os.cpu_count(),
    }
    path = OUT / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0 if errors == 0 and check["papers_with_wrong_count"] == 0 else 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
