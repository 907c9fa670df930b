"""Ingest benchmark: import a synthetic arXiv snapshot through the real CLI, per engine.

    python bench/ingest.py [--papers 200000] [--engines sqlite,postgres] [--repeat 1] [--keep]

For each engine and repeat, on a fresh instance (a new PAPERFEED_HOME; for PostgreSQL a new
database on a server started with `pgserver`):
1. `paperfeed stats --json` once, which applies the migrations (not timed as the import);
2. `paperfeed ingest file CORPUS --format arxiv-snapshot`, timed (wall clock), with the
   child's peak RSS and CPU time from wait4();
3. `paperfeed stats --json` again, checking that it counts exactly N papers;
4. the same import again (the idempotent re-import: every paper unchanged), timed.

The corpus is generated once by bench/corpus.py and cached in bench/out/ (git-ignored).
A markdown table goes to stdout and, with a JSON copy of every measurement, to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402 - bench/ is not a package

ENGINES = ("sqlite", "postgres")
SUMMARY = re.compile(
    r"(?P<new>[\d,]+) new, (?P<updated>[\d,]+) updated, (?P<unchanged>[\d,]+) unchanged, "
    r"(?P<rejected>[\d,]+) rejected"
)


@dataclass
class Step:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    returncode: int
    server_cpu_seconds: float | None = None
    counts: dict = field(default_factory=dict)


@dataclass
class Run:
    engine: str
    papers: int
    repeat: int
    migrate: Step
    imported: Step
    reimported: Step
    stats: dict
    database_mb: float


class BenchError(RuntimeError):
    pass


def paperfeed_command() -> list[str]:
    """The `paperfeed` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("paperfeed")
    if script.exists():
        return [str(script)]
    found = shutil.which("paperfeed")
    return [found] if found else [sys.executable, "-m", "paperfeed"]


def run_child(args: list[str], env: dict, log_dir: Path, label: str) -> tuple[Step, str]:
    """Run a command to completion; wall time, and peak RSS and CPU of that child alone.

    wait4() gives the rusage of exactly this child (RUSAGE_CHILDREN would be the maximum
    over every child waited for so far). Output goes to files, so no pipe can fill up.
    """
    out_path, err_path = log_dir / f"{label}.out", log_dir / f"{label}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    step = Step(
        seconds=seconds,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        returncode=child.returncode,
    )
    if child.returncode not in (0,):
        tail = err_path.read_text(errors="replace")[-3000:]
        raise BenchError(f"{shlex.join(args)} exited {child.returncode}\n{stdout[-2000:]}{tail}")
    return step, stdout


def parse_counts(stdout: str) -> dict:
    match = SUMMARY.search(stdout)
    if not match:
        raise BenchError(f"no ingest summary in the output: {stdout[-500:]!r}")
    return {key: int(value.replace(",", "")) for key, value in match.groupdict().items()}


def corpus_file(papers: int, seed: int) -> Path:
    path = OUT / f"corpus-{papers}-seed{seed}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        corpus.write(path, papers, seed)
        print(
            f"generated {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
    return path


class Postgres:
    """One pgserver instance for the whole benchmark; a fresh database per run."""

    def __init__(self, root: Path):
        import pgserver

        self.data = root / "pgdata"
        self.server = pgserver.get_server(self.data, cleanup_mode="stop")
        self.count = 0

    def fresh_database(self) -> tuple[str, str]:
        self.count += 1
        name = f"bench_{os.getpid()}_{self.count}"
        self.server.psql(f"CREATE DATABASE {name};")
        return name, self.server.get_uri(database=name)

    def query(self, sql: str) -> str:
        """One value from psql's aligned output."""
        lines = [line.strip() for line in self.server.psql(sql).splitlines() if line.strip()]
        return lines[2] if len(lines) > 2 else ""

    def version(self) -> str:
        return self.query("SELECT version();")

    def settings(self) -> str:
        names = ("shared_buffers", "synchronous_commit", "fsync", "max_wal_size", "work_mem")
        return ", ".join(f"{n}={self.query(f'SHOW {n};')}" for n in names)

    def size_mb(self, database: str) -> float:
        return int(self.query(f"SELECT pg_database_size('{database}');") or 0) / 1e6

    def drop(self, database: str) -> None:
        self.server.psql(f"DROP DATABASE IF EXISTS {database};")

    def stop(self) -> None:
        self.server.cleanup()

    def cpu_seconds(self) -> float:
        """CPU used so far by the server: the postmaster, its live processes, and (through
        the postmaster's cutime/cstime) the backends that have exited."""
        pid = self.server.get_pid()
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            # fields[1] is the ppid; [11..14] are utime, stime, cutime, cstime in ticks
            if int(entry.name) == pid:
                total += sum(int(x) for x in fields[11:15])
            elif int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


def one_run(
    engine: str, path: Path, papers: int, repeat: int, root: Path, pg: Postgres | None, keep: bool
) -> Run:
    home = Path(tempfile.mkdtemp(prefix=f"{engine}-{repeat}-", dir=root))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env.pop("DATABASE_URL", None)
    env["PAPERFEED_HOME"] = str(home)
    database = ""
    if engine == "postgres":
        assert pg is not None
        database, env["DATABASE_URL"] = pg.fresh_database()
    cli = paperfeed_command()
    ingest = [*cli, "ingest", "file", str(path), "--format", "arxiv-snapshot"]
    stats_cmd = [*cli, "stats", "--json"]

    migrate, stdout = run_child(stats_cmd, env, home, "0-migrate")
    if json.loads(stdout)["papers"] != 0:
        raise BenchError(f"{engine}: the fresh instance is not empty")
    print(f"  {engine} #{repeat}: migrated in {migrate.seconds:.1f}s; importing", file=sys.stderr)

    server_cpu = pg.cpu_seconds if engine == "postgres" else None
    before = server_cpu() if server_cpu else 0.0
    imported, stdout = run_child(ingest, env, home, "1-import")
    if server_cpu:
        time.sleep(0.5)  # let the postmaster reap the backend, adding its CPU to cutime
        imported.server_cpu_seconds = server_cpu() - before
    imported.counts = parse_counts(stdout)
    print(f"  {engine} #{repeat}: import {imported.seconds:.1f}s {stdout.strip()}", file=sys.stderr)
    _, stdout = run_child(stats_cmd, env, home, "2-stats")
    stats = json.loads(stdout)
    if stats["papers"] != papers:
        raise BenchError(f"{engine}: stats says {stats['papers']:,} papers, expected {papers:,}")
    if imported.counts["new"] != papers:
        raise BenchError(f"{engine}: first import counts {imported.counts}, expected all new")

    before = server_cpu() if server_cpu else 0.0
    reimported, stdout = run_child(ingest, env, home, "3-reimport")
    if server_cpu:
        time.sleep(0.5)
        reimported.server_cpu_seconds = server_cpu() - before
    reimported.counts = parse_counts(stdout)
    print(
        f"  {engine} #{repeat}: re-import {reimported.seconds:.1f}s {stdout.strip()}",
        file=sys.stderr,
    )
    if reimported.counts["unchanged"] != papers:
        raise BenchError(f"{engine}: re-import counts {reimported.counts}, expected all unchanged")

    if engine == "sqlite":
        size = sum(f.stat().st_size for f in home.glob("paperfeed.sqlite3*")) / 1e6
    else:
        size = pg.size_mb(database)
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
        if database:
            pg.drop(database)
    else:
        print(f"  kept {home}" + (f" and database {database}" if database else ""), file=sys.stderr)
    return Run(engine, papers, repeat, migrate, imported, reimported, stats, size)


def machine(pg: Postgres | None) -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = "?"
    import django

    info = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?",
        "cpu": model,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": pg.version() if pg else "-",
        "postgres_settings": pg.settings() if pg else "-",
        "commit": commit or "?",
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    return info


FLOOR_SCRIPT = (
    "import json, sys\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    for line in f:\n"
    "        json.loads(line)\n"
)


def floor_seconds(path: Path) -> float:
    """Baseline measured in the same run: reading and JSON-decoding the corpus, nothing
    else, in a fresh interpreter. No importer can beat it; ratios against it cancel out
    most of the machine's noise."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, str(path)], check=True)
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def server_cpu_text(runs: list[Run]) -> str:
    values = [r.imported.server_cpu_seconds for r in runs]
    if any(v is None for v in values):
        return "-"
    return f"{median(values):.1f}"


def table(runs: list[Run], engines: list[str], papers: int, floor: float) -> str:
    head = (
        "| engine | papers | import s | papers/s | import ÷ floor | re-import s "
        "| re-import papers/s "
        "| peak RSS MB | import CPU s: client | import CPU s: server | re-import peak RSS MB "
        "| DB size MB | runs |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for engine in engines:
        mine = [r for r in runs if r.engine == engine]
        if not mine:
            continue
        first = median([r.imported.seconds for r in mine])
        again = median([r.reimported.seconds for r in mine])
        rows.append(
            f"| {engine} | {papers:,} | {first:.1f} | {papers / first:,.0f} | {first / floor:.1f}× "
            f"| {again:.1f} "
            f"| {papers / again:,.0f} | {median([r.imported.peak_rss_mb for r in mine]):.0f} "
            f"| {median([r.imported.cpu_seconds for r in mine]):.1f} "
            f"| {server_cpu_text(mine)} "
            f"| {median([r.reimported.peak_rss_mb for r in mine]):.0f} "
            f"| {median([r.database_mb for r in mine]):.0f} | {len(mine)} |"
        )
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200_000)
    parser.add_argument("--engines", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine (medians)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--keep", action="store_true", help="keep instances and databases")
    parser.add_argument(
        "--tmp", default=None, help="where fresh instances go (default: the system temp dir)"
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if unknown := [e for e in engines if e not in ENGINES]:
        parser.error(f"unknown engine(s) {unknown}; choose from {', '.join(ENGINES)}")
    if args.papers < 1 or args.repeat < 1:
        parser.error("--papers and --repeat must be positive")
    command = shlex.join(
        [sys.executable, *(sys.argv if argv is None else ["bench/ingest.py", *argv])]
    )

    OUT.mkdir(parents=True, exist_ok=True)
    path = corpus_file(args.papers, args.seed)
    root = Path(tempfile.mkdtemp(prefix="paperfeed-bench-ingest-", dir=args.tmp))
    pg = Postgres(root) if "postgres" in engines else None
    runs: list[Run] = []
    floors: list[float] = []
    try:
        info = machine(pg)
        for repeat in range(1, args.repeat + 1):
            floors.append(floor_seconds(path))
            for engine in engines:
                runs.append(one_run(engine, path, args.papers, repeat, root, pg, args.keep))
    finally:
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    info["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    stats = runs[0].stats
    lines = [
        f"## Ingest benchmark: {args.papers:,} papers (arXiv snapshot, corpus seed {args.seed})",
        "",
        f"Command: `{command}`",
        f"Corpus: `{path.relative_to(REPO)}` ({path.stat().st_size / 1e6:.0f} MB); "
        f"instance after import: {stats['papers']:,} papers, {stats['authors']:,} authors, "
        f"{stats['code_links']:,} code links, {stats['withdrawn']:,} withdrawn",
        "",
        f"Floor (baseline, same run): reading and JSON-decoding the corpus alone takes "
        f"{median(floors):.1f} s ({args.papers / median(floors):,.0f} papers/s).",
        "",
        table(runs, engines, args.papers, median(floors)),
        "Import s: wall clock of `paperfeed ingest file CORPUS --format arxiv-snapshot` on a "
        "migrated empty instance (includes interpreter and Django start-up and the no-op "
        "migrate check). Re-import: the same command again, every paper unchanged. "
        "Peak RSS and client CPU are the ingest process's own (wait4); server CPU is the "
        "PostgreSQL server's (postmaster, its processes and exited backends, from /proc)."
        + (" Medians over the runs." if args.repeat > 1 else ""),
        "",
        "Machine:",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "",
    ]
    report = "\n".join(lines)
    print(report)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (OUT / f"ingest-{args.papers}-{stamp}.md").write_text(report)
    (OUT / f"ingest-{args.papers}-{stamp}.json").write_text(
        json.dumps(
            {"command": command, "machine": info, "runs": [asdict(r) for r in runs]},
            indent=2,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BenchError as exc:
        print(f"bench/ingest.py: FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
