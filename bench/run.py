"""Runs Parley's benchmark: every scenario against Parley and the two baselines, in turns.

    .venv/bin/python -m bench.run            # every scenario at reduced sizes (make bench)
    .venv/bin/python -m bench.run --full     # the full sizes (make bench-full)
    .venv/bin/python -m bench.run --rounds 5 --only S2,S3 --targets python,embedded

Each round runs each scenario once on every target, one after the other, each on a server
started afresh; the figures reported are the medians over the rounds. The servers,
PostgreSQL and Redis are started here on free loopback ports and stopped at the end. The
table goes to the terminal and the whole run, with the machine, versions, every round's
figures and the ratios Parley / baseline, to bench/results/RUN.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from tests.support.server import free_port, wait_healthy
from tests.support.services import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LOADGEN = BENCH / "loadgen.mjs"
PYTHON = ROOT / ".venv" / "bin" / "python"
PARLEY = ROOT / ".venv" / "bin" / "parley"

# Parley as a benchmark runs it: no rate limits, tokens outliving the run, cheap password
# hashes (signing in is set-up here, not what is measured), a quick drain between runs.
PARLEY_SETTINGS = {
    "PARLEY_RATE_LIMITS": "off",
    "PARLEY_ACCESS_TOKEN_TTL_SECONDS": str(7 * 24 * 3600),
    "PARLEY_PASSWORD_HASH_TIME_COST": "1",
    "PARLEY_PASSWORD_HASH_MEMORY_KIB": "1024",
    "PARLEY_DRAIN_TIMEOUT_SECONDS": "2",
    "PARLEY_JWT_SECRET": "bench-secret-" + "0123456789abcdef" * 4,
    "PARLEY_LOG_LEVEL": "WARNING",
}
# The production configuration's PostgreSQL keeps what it acknowledges, as deployed.
DURABLE_POSTGRES = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
START_TIMEOUT_SECONDS = 60.0
SCENARIO_TIMEOUT_SECONDS = 600.0

# Sizes: the benchmark's own (--full, about half an hour on 2 cores), and a reduced set (about
# ten minutes) for trying a change; targets are judged at the full sizes.
FULL: dict[str, dict[str, Any]] = {
    "population": {"users": 5000, "directs": 1000, "groups": 10, "groupSize": 100},
    "S1": {"conversations": 500, "senders": 200, "ratePerSecond": 5, "durationSeconds": 20},
    "S1max": {"conversations": 500, "senders": 200, "durationSeconds": 10},
    "S2": {"groups": 10, "durationSeconds": 10},
    "S2x": {"groups": 10, "durationSeconds": 10},
    "S3": {"users": 5000},
    "S4": {"users": 2000},
    "H1": {"messages": 1_000_000, "shallowDepth": 1000, "requests": 200},
    "L1": {"conversations": 2000, "requests": 200},
}
QUICK: dict[str, dict[str, Any]] = {
    "population": {"users": 1000, "directs": 250, "groups": 5, "groupSize": 100},
    "S1": {"conversations": 200, "senders": 80, "ratePerSecond": 5, "durationSeconds": 3},
    "S1max": {"conversations": 200, "senders": 80, "durationSeconds": 2},
    "S2": {"groups": 5, "durationSeconds": 2},
    "S2x": {"groups": 5, "durationSeconds": 2},
    "S3": {"users": 1000},
    "S4": {"users": 500},
    "H1": {"messages": 50_000, "shallowDepth": 1000, "requests": 30},
    "L1": {"conversations": 300, "requests": 30},
}
SCENARIOS = ["S1", "S1max", "S2", "S2x", "S3", "S4", "H1", "L1"]
TARGETS = ["node", "python", "embedded", "production1", "production2"]
STORAGE_SCENARIOS = {"H1", "L1"}  # Parley only: the baselines store nothing
# S2 with every sender on the first process and every receiver on the second: each
# delivery crosses Redis. Only for targets of several processes.
CROSS_PROCESS_SCENARIOS = {"S2x"}

# The figures of each scenario that the table shows: (result key path, label, unit, better).
FIGURES: dict[str, list[tuple[str, str, str, str]]] = {
    "S1": [
        ("latencyMs.p50", "latency p50", "ms", "lower"),
        ("latencyMs.p99", "latency p99", "ms", "lower"),
        ("serverCpuPercent", "server CPU", "% of a core", "lower"),
        ("servicesCpuPercent", "PostgreSQL + Redis CPU", "% of a core", "lower"),
    ],
    "S1max": [("ackedPerSecond", "stored and acknowledged", "msg/s", "higher")],
    "S2": [
        ("deliveriesPerSecond", "deliveries", "/s", "higher"),
        ("serverCpuMicrosPerDelivery", "server CPU per delivery", "us", "lower"),
        ("servicesCpuMicrosPerDelivery", "PostgreSQL + Redis CPU per delivery", "us", "lower"),
    ],
    "S2x": [
        ("deliveriesPerSecond", "deliveries, across processes", "/s", "higher"),
        ("serverCpuMicrosPerDelivery", "server CPU per delivery, across processes", "us", "lower"),
        ("servicesCpuMicrosPerDelivery", "PostgreSQL + Redis CPU per delivery", "us", "lower"),
    ],
    "S3": [("bytesPerConnection", "memory per connection", "KiB", "lower")],
    "S4": [
        ("allInRoomsSeconds", "all in their rooms", "s", "lower"),
        ("connectMs.p99", "connect p99", "ms", "lower"),
    ],
    "H1": [
        ("shallowMs.p50", "page at depth 1,000 p50", "ms", "lower"),
        ("deepMs.p50", "page at the deepest p50", "ms", "lower"),
        ("deepOverShallow", "deepest / depth 1,000 (of the medians)", "x", "lower"),
    ],
    "L1": [
        ("latencyMs.p50", "first page p50", "ms", "lower"),
        ("statements", "SQL statements", "", "lower"),
    ],
}


# ---------------------------------------------------------------- processes


@dataclass
class Running:
    """Servers of one target, up for one scenario run."""

    urls: list[str]
    processes: list[subprocess.Popen[bytes]]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text(errors='replace')}")


def _stop(
    processes: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """Signal each process, wait for them all, and kill any still there after `timeout`."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- targets


@dataclass
class Target:
    """Something the load generator is pointed at: a baseline or a Parley configuration."""

    name: str
    label: str
    start: Callable[[Path], Running]
    is_parley: bool
    processes: int = 1
    service_pids: list[int] = field(default_factory=list)  # PostgreSQL and Redis, if used
    database_url: str = ""  # Parley's, for adding H1's and L1's rows in bulk
    population: Path | None = None  # Parley's users and conversations, made once
    history: dict[str, Any] = field(default_factory=dict)
    conversation_list: dict[str, Any] = field(default_factory=dict)


def _baseline(command: list[str]) -> Callable[[Path], Running]:
    def start(work: Path) -> Running:
        port = free_port()
        log = work / "baseline.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [*command, str(port)], cwd=BENCH, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            _wait_listening(port, process, log)
        except BaseException:
            _stop([process])
            raise
        return Running([f"http://127.0.0.1:{port}"], [process])

    return start


def _parley(environment: dict[str, str], processes: int) -> Callable[[Path], Running]:
    def start(work: Path) -> Running:
        started: list[subprocess.Popen[bytes]] = []
        urls = []
        try:
            for index in range(processes):
                port = free_port()
                log = work / f"parley-{index}.log"
                with open(log, "ab") as out:
                    process = subprocess.Popen(
                        [str(PARLEY), "serve", "--host", "127.0.0.1", "--port", str(port)],
                        env=environment,
                        cwd=work,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                started.append(process)
                url = f"http://127.0.0.1:{port}"
                wait_healthy(url, process, log, START_TIMEOUT_SECONDS)
                urls.append(url)
        except BaseException:
            _stop(started)
            raise
        return Running(urls, started)

    return start


def parley_environment(
    data_dir: Path, database_url: str | None, redis_url: str | None
) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    environment.update(PARLEY_SETTINGS, PARLEY_DATA_DIR=str(data_dir))
    if database_url:
        environment["PARLEY_DATABASE_URL"] = database_url
    if redis_url:
        environment["PARLEY_REDIS_URL"] = redis_url
    return environment


# ---------------------------------------------------------------- the load generator


def loadgen(command: str, spec: dict[str, Any], work: Path) -> dict[str, Any] | None:
    spec_path = work / f"spec-{command}.json"
    spec_path.write_text(json.dumps(spec))
    result = subprocess.run(
        ["node", str(LOADGEN), command, str(spec_path)],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"loadgen {command} failed:\n{result.stderr}")
    output = result.stdout.strip()
    return json.loads(output) if output else None


def baseline_population(sizes: dict[str, Any], path: Path) -> Path:
    """The same users and rooms as Parley's, named rather than stored."""
    users = [{"id": f"u{i}", "token": None} for i in range(sizes["users"])]
    directs = [{"id": f"d{i}", "members": [2 * i, 2 * i + 1]} for i in range(sizes["directs"])]
    size = sizes["groupSize"]
    groups = [
        {"id": f"g{g}", "members": list(range(g * size, (g + 1) * size))}
        for g in range(sizes["groups"])
    ]
    path.write_text(json.dumps({"users": users, "extra": {}, "directs": directs, "groups": groups}))
    return path


def populate_parley(
    target: Target, sizes: dict[str, dict[str, Any]], scenarios: list[str], work: Path
) -> None:
    """Registers the users and opens the conversations once, then adds H1's history and L1's
    conversations straight into the database (a million sends would take hours)."""
    population = work / f"population-{target.name}.json"
    running = target.start(work)
    try:
        loadgen(
            "populate",
            {
                "url": running.urls[0],
                "prefix": "bench",
                **sizes["population"],
                # H1's two people, L1's user and the partners of L1's groups: nobody that
                # the socket scenarios use, so their rooms stay the baselines' rooms.
                "extraUsers": ["history0", "history1", "lister", "partner0", "partner1"],
                "output": str(population),
            },
            work,
        )
        people = json.loads(population.read_text())["extra"]
        url = running.urls[0]
        token = people["history0"]["token"]
        direct = httpx.post(
            f"{url}/api/conversations",
            json={"type": "direct", "participantIds": [people["history1"]["id"]]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
    finally:
        _stop(running.processes)
    messages = sizes["H1"]["messages"]
    conversations = sizes["L1"]["conversations"]
    if "H1" in scenarios:
        _bulk(
            "history",
            target.database_url,
            "--conversation-id",
            direct["id"],
            "--count",
            str(messages),
        )
    if "L1" in scenarios:
        _bulk(
            "conversations",
            target.database_url,
            "--user-id",
            people["lister"]["id"],
            "--partner-ids",
            people["partner0"]["id"],
            people["partner1"]["id"],
            "--count",
            str(conversations),
        )
    target.population = population
    target.history = {"conversationId": direct["id"], "lastSeq": messages, "token": token}
    target.conversation_list = {
        "userToken": people["lister"]["token"],
        "conversations": conversations,
    }


def _bulk(kind: str, database_url: str, *arguments: str) -> None:
    started = time.monotonic()
    subprocess.run(
        [str(PYTHON), "-m", "bench.bulk", kind, "--database-url", database_url, *arguments],
        cwd=ROOT,
        check=True,
    )
    print(f"  bulk {kind}: {time.monotonic() - started:.1f} s", file=sys.stderr)


# ---------------------------------------------------------------- a run


def scenario_spec(
    scenario: str, target: Target, running: Running, sizes: dict[str, dict[str, Any]], run_id: str
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scenario": scenario,
        "urls": running.urls,
        "pids": running.pids,
        "servicePids": target.service_pids,
        "params": sizes[scenario],
        "population": str(target.population),
        "runId": run_id,
    }
    if scenario == "H1":
        spec["history"] = target.history
    if scenario == "L1":
        spec["list"] = target.conversation_list
    return spec


def run_once(
    scenario: str,
    target: Target,
    sizes: dict[str, dict[str, Any]],
    work: Path,
    run_id: str,
    profile: bool = False,
) -> dict[str, Any]:
    running = target.start(work)
    profilers = [_profiler(pid, f"{run_id}-{pid}") for pid in running.pids] if profile else []
    try:
        result = loadgen("run", scenario_spec(scenario, target, running, sizes, run_id), work)
    finally:
        _stop(profilers, signal.SIGINT, timeout=60)  # py-spy writes its profile and exits
        _stop(running.processes)
    assert result is not None
    return result


def _profiler(pid: int, name: str) -> subprocess.Popen[bytes]:
    """py-spy sampling a server for the run: collapsed stacks to bench/results/profiles/
    (for flamegraph tools and `python -m bench.profile`)."""
    folder = RESULTS / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--pid", str(pid)]
    command += [
        "--rate",
        "250",
        "--gil",
        "--format",
        "raw",
        "--output",
        str(folder / f"{name}.txt"),
    ]
    log = open(folder / f"{name}.log", "ab")  # noqa: SIM115 - py-spy owns it from here
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    time.sleep(0.5)  # attached before the load starts
    if process.poll() is not None:
        raise RuntimeError(f"py-spy could not attach to {pid}: see {folder / name}.log")
    return process


def figure(result: dict[str, Any], path: str) -> float | None:
    value: Any = result
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def per_round(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """scenario -> target -> figure -> its value in each round, in round order."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for scenario, figures in FIGURES.items():
        for key, *_ in figures:
            for run in runs:
                value = figure(run["result"], key) if run["scenario"] == scenario else None
                if value is not None:
                    by_target = out.setdefault(scenario, {}).setdefault(run["target"], {})
                    by_target.setdefault(key, []).append(value)
    return out


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """scenario -> target -> figure -> the median over the rounds."""
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    for scenario, by_target_key in per_round(runs).items():
        for target, by_key in by_target_key.items():
            for key, values in by_key.items():
                table.setdefault(scenario, {}).setdefault(target, {})[key] = statistics.median(
                    values
                )
    for cell in table.get("H1", {}).values():  # the ratio of the medians shown above it
        deep, shallow = cell.get("deepMs.p50"), cell.get("shallowMs.p50")
        cell["deepOverShallow"] = deep / shallow if deep and shallow else None
    return table


def ratios(
    table: dict[str, dict[str, dict[str, float | None]]], parley: list[str], baselines: list[str]
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """scenario -> Parley target -> figure -> baseline -> Parley / baseline."""
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for scenario, by_target in table.items():
        for target in parley:
            for key, value in by_target.get(target, {}).items():
                for baseline in baselines:
                    base = by_target.get(baseline, {}).get(key)
                    if value is not None and base:
                        out.setdefault(scenario, {}).setdefault(target, {}).setdefault(key, {})[
                            baseline
                        ] = value / base
    return out


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "KiB":
        value /= 1024
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def render_table(
    table: dict[str, dict[str, dict[str, float | None]]],
    ratio_table: dict[str, dict[str, dict[str, dict[str, float]]]],
    targets: list[Target],
    saturated: set[tuple[str, str]],
) -> str:
    """A Markdown table: one row a figure (its arrow: which way is better), one column a
    target; Parley's cells carry their ratios to the bare python-socketio and Node
    socket.io servers, and a dagger marks figures the load generator limited."""
    header = ["scenario", "figure", *(target.label for target in targets)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for scenario, figures in FIGURES.items():
        if scenario not in table:
            continue
        for key, label, unit, better in figures:
            if not any(table[scenario].get(t.name, {}).get(key) for t in targets):
                continue  # PostgreSQL + Redis rows without a production target
            arrow = "↓" if better == "lower" else "↑"
            cells = [scenario, f"{arrow} {label}" + (f" ({unit})" if unit else "")]
            for target in targets:
                value = table[scenario].get(target.name, {}).get(key)
                cell = _shown(value, unit)
                if value is not None and (scenario, target.name) in saturated:
                    cell += " †"
                versus = ratio_table.get(scenario, {}).get(target.name, {}).get(key, {})
                if versus:
                    shown = [f"{versus[b]:.2f}x {b}" for b in ("python", "node") if b in versus]
                    cell += f" ({', '.join(shown)})"
                cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "↓ lower is better, ↑ higher is better; (Nx python, Nx node): Parley / that baseline."
    )
    if saturated:
        lines.append(
            "† the load generator used over 85% of a core in some round: the server may "
            "have had more to give."
        )
    return "\n".join(lines)


def _version(command: list[str]) -> str:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not found"
    lines = (output.stdout or output.stderr).strip().splitlines()
    return lines[0] if lines else ""


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memoryGiB": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
    }


def versions() -> dict[str, str]:
    commit = _version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    changed = _version(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "bench", ":!bench/results"]
    )
    if changed:
        commit += " with uncommitted changes"
    node_modules = BENCH / "node_modules"
    return {
        "parley": commit,
        "python": platform.python_version(),
        "python-socketio": metadata.version("python-socketio"),
        "uvicorn": metadata.version("uvicorn"),
        "sqlalchemy": metadata.version("sqlalchemy"),
        "node": _version(["node", "--version"]),
        "socket.io": json.loads((node_modules / "socket.io/package.json").read_text())["version"],
        "socket.io-client": json.loads(
            (node_modules / "socket.io-client/package.json").read_text()
        )["version"],
        "sqlite": sqlite3.sqlite_version,
        **{name: metadata.version(name) for name in ("uvloop", "websockets", "httptools")},
        **{name: metadata.version(name) for name in ("asyncpg", "aiosqlite", "redis")},
        "postgresql": _version([str(Path("/usr/lib/postgresql/15/bin/postgres")), "--version"]),
        "redis": _version(["redis-server", "--version"]),
    }


@contextmanager
def services(work: Path, wanted: bool) -> Iterator[tuple[str | None, str | None, list[int]]]:
    """PostgreSQL (durable, as deployed) and Redis for the production targets: their URLs
    and the pids whose CPU counts as theirs."""
    if not wanted:
        yield None, None, []
        return
    postgres = PostgresServer(work / "postgres", settings=DURABLE_POSTGRES)
    redis = RedisServer(work)
    postgres.start()
    try:
        redis.start()
        try:
            assert postgres.process is not None and redis.process is not None
            yield postgres.url, redis.url, [postgres.process.pid, redis.process.pid]
        finally:
            redis.stop()
    finally:
        postgres.stop()


def make_targets(
    work: Path,
    database_url: str | None,
    redis_url: str | None,
    service_pids: list[int],
    wanted: list[str],
) -> list[Target]:
    node = ["node", str(BENCH / "baselines" / "node_server.mjs")]
    python = [str(PYTHON), str(BENCH / "baselines" / "python_server.py")]
    targets = [
        Target("node", "Node socket.io", _baseline(node), is_parley=False),
        Target("python", "python-socketio", _baseline(python), is_parley=False),
    ]
    embedded_dir = work / "embedded"
    embedded_dir.mkdir()
    embedded = parley_environment(embedded_dir, None, None)
    targets.append(
        Target(
            "embedded",
            "Parley embedded",
            _parley(embedded, 1),
            is_parley=True,
            database_url=f"sqlite:///{embedded_dir / 'parley.db'}",
        )
    )
    if database_url and redis_url:
        production_dir = work / "production"
        production_dir.mkdir()
        production = parley_environment(production_dir, database_url, redis_url)
        for processes in (1, 2):
            targets.append(
                Target(
                    f"production{processes}",
                    f"Parley production x{processes}",
                    _parley(production, processes),
                    is_parley=True,
                    processes=processes,
                    service_pids=service_pids,
                    database_url=database_url,
                )
            )
    return [target for target in targets if target.name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="the full sizes (make bench-full)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each pair (medians)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help=f"comma-separated: {', '.join(TARGETS)}"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy each Parley server (bench/results/profiles)"
    )
    options = parser.parse_args(argv)
    sizes = FULL if options.full else QUICK
    scenarios = [name for name in options.only.split(",") if name]
    wanted = [name for name in options.targets.split(",") if name]
    for kind, names, known in (("scenarios", scenarios, SCENARIOS), ("targets", wanted, TARGETS)):
        unknown = set(names) - set(known)
        if unknown or not names:
            parser.error(f"unknown or no {kind}: {', '.join(sorted(unknown))}")
    if options.rounds < 1:
        parser.error("--rounds must be at least 1")
    RESULTS.mkdir(exist_ok=True)
    started = datetime.now(UTC)
    run_name = started.strftime("%Y%m%dT%H%M%SZ") + ("-full" if options.full else "-quick")
    output = RESULTS / f"{run_name}.json"
    report: dict[str, Any] = {
        "run": run_name,
        "startedAt": started.isoformat(),
        "complete": False,
        "full": options.full,
        "rounds": options.rounds,
        "machine": machine(),
        "versions": versions(),
        "settings": {"parley": PARLEY_SETTINGS, "postgresql": DURABLE_POSTGRES},
        "sizes": sizes,
        "runs": [],
    }
    work = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    targets: list[Target] = []
    try:
        with services(work, any(name.startswith("production") for name in wanted)) as (
            database_url,
            redis_url,
            service_pids,
        ):
            targets = make_targets(work, database_url, redis_url, service_pids, wanted)
            report["targets"] = {target.name: target.label for target in targets}
            prepare(targets, sizes, scenarios, work)
            for round_number in range(1, options.rounds + 1):
                for scenario in scenarios:
                    # Alternate the order each round, so no target always runs on a warm
                    # (or a tired) machine.
                    order = targets if round_number % 2 else list(reversed(targets))
                    for target in order:
                        if scenario in STORAGE_SCENARIOS and not target.is_parley:
                            continue
                        if scenario in CROSS_PROCESS_SCENARIOS and target.processes < 2:
                            continue
                        run_id = f"r{round_number}-{scenario}-{target.name}"
                        print(
                            f"round {round_number}: {scenario} on {target.label}", file=sys.stderr
                        )
                        profile = options.profile and target.is_parley
                        result = run_once(scenario, target, sizes, work, run_id, profile)
                        report["runs"].append(
                            {"round": round_number, "scenario": scenario, "target": target.name}
                            | {"result": result}
                        )
                        summarize(report, targets, output)  # a run that fails later keeps these
    except BaseException:
        report["logs"] = str(work)
        summarize(report, targets, output)
        print(f"bench: failed; servers' logs kept in {work}, figures so far in {output}")
        raise
    shutil.rmtree(work, ignore_errors=True)
    report["complete"] = True
    report["seconds"] = round((datetime.now(UTC) - started).total_seconds())
    summarize(report, targets, output)
    print(report["table"])
    print(f"\nMedians of {options.rounds} rounds; every figure in {output.relative_to(ROOT)}")
    return 0


def prepare(
    targets: list[Target], sizes: dict[str, dict[str, Any]], scenarios: list[str], work: Path
) -> None:
    """Gives every target its population: named users and rooms for the baselines,
    registered users and conversations for each Parley database (once per database)."""
    baseline_file = baseline_population(sizes["population"], work / "population-baseline.json")
    populated: dict[str, Target] = {}
    for target in targets:
        if not target.is_parley:
            target.population = baseline_file
        elif target.database_url in populated:  # production x1 and x2 share a database
            twin = populated[target.database_url]
            target.population, target.history = twin.population, twin.history
            target.conversation_list = twin.conversation_list
        else:
            print(f"populating {target.label}", file=sys.stderr)
            populate_parley(target, sizes, scenarios, work)
            populated[target.database_url] = target


def summarize(report: dict[str, Any], targets: list[Target], output: Path) -> None:
    """Medians, ratios and the table of the runs so far, written to `output`."""
    table = medians(report["runs"])
    parley_names = [target.name for target in targets if target.is_parley]
    baseline_names = [target.name for target in targets if not target.is_parley]
    ratio_table = ratios(table, parley_names, baseline_names)
    report["medians"] = table
    report["perRound"] = per_round(report["runs"])
    report["ratios"] = ratio_table
    report["table"] = render_table(table, ratio_table, targets, saturated(report["runs"]))
    output.write_text(json.dumps(report, indent=1) + "\n")


def saturated(runs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(scenario, target) pairs where the load generator ran out of CPU in some round."""
    return {
        (run["scenario"], run["target"]) for run in runs if run["result"].get("loadgenSaturated")
    }


if __name__ == "__main__":
    sys.exit(main())
