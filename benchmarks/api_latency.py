"""Latency of the exchange API's match requests under concurrent partners.

Starts ``jigsaw api`` on a graph already loaded (JIGSAW_DATA_DIR) from a synthetic
county (its truth says which NHS numbers, names and birth dates exist), registers a
client, and sends enquiries from N concurrent clients (keep-alive connections polled by
one thread, each request's bytes made beforehand): by NHS number, and by name and birth
date. Prints p50, p95 and p99 per kind, requests a second, and the CPU
time a request took in the API's processes, in the engine and in this load generator
(which shares the machine: on few cores its own cost is part of the latency); then the
CPU a request takes in the app itself, called in this process without an HTTP server,
and how many people a name and birth date enquiry read.

    JIGSAW_DATA_DIR=data uv run python -m benchmarks.api_latency --county data/county
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import random
import selectors
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from graph import load_settings
from graph.processes import cpu_seconds

S47 = "https://www.legislation.gov.uk/ukpga/1989/41/section/47"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
OPERATION = "/fhir/Patient/$person-info-query"
JIGSAW = [sys.executable, "-c", "from ui.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time so far of these processes (user and system)."""
    return sum(cpu_seconds(p) or 0.0 for p in pids)


def _engines(directory: Path) -> list[int]:
    """The embedded engine serving the graph in ``directory`` (a daemon of its own, not
    the API's child: found by its working directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (
                proc.name.isdigit()
                and (proc / "comm").read_text().strip() == "redis-server"
                and Path(os.readlink(proc / "cwd")).resolve() == directory
            ):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _workers(pid: int) -> list[int]:
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    found = []
    for child in children:
        if "python" in Path(f"/proc/{child}/comm").read_text(errors="replace"):
            found += [child, *_workers(child)]
    return found


def _indexes_built() -> None:
    """Wait while the engine builds its indexes (FalkorDB does so after every start: a
    county graph's take minutes on a busy machine, and reads meanwhile scan)."""
    from graph import open_store

    store = open_store(load_settings())
    try:
        wait = getattr(store, "await_indexes", None)
        if wait is not None:
            wait(3600)
    finally:
        store.close()


def _bodies(county: Path, count: int, seed: int) -> dict[str, list[str]]:
    with (county / "truth" / "people.csv").open(encoding="utf-8") as fh:
        children = [p for p in csv.DictReader(fh) if p["is_child"] == "1"]
    rng = random.Random(seed)
    picked = rng.sample(children, min(count, len(children)))

    def enquiry(patient: dict) -> str:
        return json.dumps(
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "resource", "resource": {"resourceType": "Patient", **patient}},
                    {"name": "reason", "valueUri": S47},
                ],
            }
        )

    return {
        "nhs_number": [
            enquiry({"identifier": [{"system": NHS, "value": p["nhs_number"]}]})
            for p in picked
            if p["nhs_number"]
        ],
        "name_and_birth_date": [
            enquiry(
                {
                    "name": [{"family": p["surname"], "given": [p["given_name"]]}],
                    "birthDate": p["dob"],
                }
            )
            for p in picked
        ],
    }


def _requests(port: int, token: str, bodies: list[str]) -> list[bytes]:
    """Each enquiry as the whole HTTP/1.1 request's bytes, made before the clock starts."""
    head = (
        f"POST {OPERATION} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\n"
    )
    out = []
    for body in bodies:
        data = body.encode()
        out.append(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return out


def _run(port: int, requests: list[bytes], clients: int) -> list[float]:
    """Each request sent once, by ``clients`` concurrent clients, each on a keep-alive
    connection of its own, each sending its next as soon as it is answered; the
    milliseconds each took. One thread polls every connection (epoll) and reads each
    answer's length from its headers: about as little CPU as a client can spend on a
    request, so the shared cores are left to the API (a partner's clients run on their
    own machines)."""
    todo = list(reversed(requests))
    timings: list[float] = []
    poll = selectors.DefaultSelector()
    state: dict[socket.socket, list] = {}  # socket: [sent at, bytes so far]

    def send(sock: socket.socket) -> None:
        request = todo.pop()
        state[sock] = [time.perf_counter(), b""]
        sock.sendall(request)

    for _ in range(min(clients, len(todo))):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        poll.register(sock, selectors.EVENT_READ)
        send(sock)
    try:
        while state:
            events = poll.select(timeout=60)
            if not events:
                raise SystemExit("no answer in 60 s")
            for key, _ in events:
                sock = key.fileobj
                chunk = sock.recv(262144)  # type: ignore[union-attr]
                if not chunk:
                    raise SystemExit("the API closed a connection")
                entry = state[sock]  # type: ignore[index]
                entry[1] += chunk
                head, sep, body = entry[1].partition(b"\r\n\r\n")
                if not sep:
                    continue
                length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                if len(body) < length:
                    continue
                timings.append((time.perf_counter() - entry[0]) * 1000)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"{head[:12]!r}: {body[:300]!r}")
                if todo:
                    send(sock)  # type: ignore[arg-type]
                else:
                    del state[sock]  # type: ignore[arg-type]
    finally:
        for key in list(poll.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        poll.close()
    return timings


def _in_process(kinds: dict[str, list[str]], clients: int) -> list[str]:
    """Each kind's enquiries answered by the API's app in this process, called through
    ASGI (no HTTP server, no sockets), ``clients`` at a time: the CPU a request takes in
    the app itself (FastAPI, validation, matching, the engine's client, the audit);
    and how many people a name and birth date enquiry read."""
    import asyncio

    from api.app import create_app, settle_heap
    from api.runtime import build_runtime
    from api.settings import ApiSettings

    runtime = build_runtime(load_settings(), ApiSettings())
    client = runtime.clients.add(
        "Benchmark in process", [S47], "involvements", rate="100000000/minute"
    ).client
    token, _ = runtime.tokens.issue(client.client_id, None)
    app = create_app(runtime, start_inbox=False)
    settle_heap()  # as `jigsaw api` does once its app is made
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/fhir+json"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": OPERATION,
        "raw_path": OPERATION.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def one(body: bytes) -> None:
        sent: list[dict] = []
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(dict(scope), receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"{sent[0]['status']}: {sent[1]['body'][:300]!r}")

    async def run(bodies: list[bytes]) -> None:
        todo = list(reversed(bodies))

        async def worker() -> None:
            while todo:
                await one(todo.pop())

        await asyncio.gather(*(worker() for _ in range(clients)))

    lines = []
    try:
        for kind, texts in kinds.items():
            bodies = [t.encode() for t in texts]
            asyncio.run(run(bodies[:50]))  # warm up
            runtime.exchange.matcher.read.clear()
            started, cpu = time.perf_counter(), time.process_time()
            asyncio.run(run(bodies))
            cpu = (time.process_time() - cpu) / len(bodies) * 1000
            each = (time.perf_counter() - started) / len(bodies) * 1000
            lines.append(
                f"{kind:<20} in process (ASGI, {clients} at a time): {cpu:.2f} ms of "
                f"CPU a request, {each:.2f} ms of wall time"
            )
        read = runtime.exchange.matcher.read
        born = read["born_that_day"] / max(1, read["enquiries"])
        scored = read["scored"] / max(1, read["scored_enquiries"])
        lines.append(
            f"a name and birth date enquiry read {born:.1f} people born that day; "
            f"{read['scored_enquiries']} of {read['enquiries']} were scored (no exact match), "
            f"{scored:.1f} people each"
        )
    finally:
        gc.unfreeze()
        runtime.store.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--county", type=Path, required=True, help="The loaded county's extracts")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="Per kind of enquiry")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="The API's worker processes")
    args = parser.parse_args()
    registered = json.loads(
        subprocess.run(
            [
                *JIGSAW,
                "api",
                "clients",
                "add",
                "Benchmark partner",
                "--reason",
                S47,
                "--level",
                "involvements",
                "--rate",
                "100000/minute",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()[0]
    )
    port = _free_port()
    serve = [*JIGSAW, "api", "--port", str(port)]
    serve += ["--workers", str(args.workers)] if args.workers > 1 else []
    server = subprocess.Popen(serve, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # a county graph's engine starts in minutes
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(
            f"{base}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": registered["client_id"],
                "client_secret": registered["client_secret"],
            },
        ).json()["access_token"]
        engine = _engines(load_settings().embedded_dir)
        _indexes_built()
        kinds = _bodies(args.county, args.requests, args.seed)
        for kind, bodies in kinds.items():
            requests = _requests(port, token, bodies)
            _run(port, requests[:50], args.clients)  # warm up
            api = [server.pid, *_workers(server.pid)]
            before = _cpu_seconds(api), _cpu_seconds(engine), time.process_time()
            started = time.perf_counter()
            timings = _run(port, requests, args.clients)
            rate = len(timings) / (time.perf_counter() - started)
            after = _cpu_seconds(api), _cpu_seconds(engine), time.process_time()
            cpu = [(b - a) / len(timings) * 1000 for a, b in zip(before, after, strict=True)]
            q = statistics.quantiles(timings, n=100)
            print(
                f"{kind:<20} {len(timings):>5} requests, {args.clients} clients: "
                f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, {rate:.0f}/s; "
                f"CPU a request: "
                f"API {cpu[0]:.2f} ms, engine {cpu[1]:.2f} ms, "
                f"load generator {cpu[2]:.2f} ms"
            )
        print("\n".join(_in_process(kinds, args.clients)))
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
