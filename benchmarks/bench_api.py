"""Throughput and p95 latency of the API under load, against a trivial route in the same server.

Serves the seeded directory with gunicorn on 127.0.0.1 and drives it with wrk from a second
process. Each endpoint is reported against `/healthz` (no database, no index) measured in the
same run; the target is at least half of the trivial route's throughput.

    python benchmarks/bench_api.py [--workers 2] [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50=%.2f p95=%.2f errors=%d\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""

TARGETS = [
    ("trivial route /healthz", "/healthz"),
    ("GET /api/v1/teams/{slug}", "/api/v1/teams/payroll"),
    ("auto-reply by address", "/api/v1/auto-reply?to=payroll%40example.com&format=json"),
    ("search", "/api/v1/search?q=laptop+wont+start"),
    ("search with typo", "/api/v1/search?q=pasword+reset"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    wrk = ensure_wrk()
    instance = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = dict(os.environ, DIRECTORY_INSTANCE=str(instance))
    env.pop("DATABASE_URL", None)
    subprocess.run([str(BIN / "directory"), "seed"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    subprocess.run([str(BIN / "directory"), "reindex"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "directory:create_app()"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        script = instance / "report.lua"
        script.write_text(LUA)
        rows = []
        for label, path in TARGETS:
            for _ in range(20):  # warm every worker's caches
                urllib.request.urlopen(base + path, timeout=10).read()
            out = subprocess.run([wrk, "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "-s", str(script),
                                  base + path], capture_output=True, text=True, check=True).stdout
            match = re.search(r"RESULT rps=([\d.]+) p50=([\d.]+) p95=([\d.]+) errors=(\d+)", out)
            if not match:
                raise SystemExit(f"wrk gave no result for {path}:\n{out}")
            rps, p50, p95, errors = float(match[1]), float(match[2]), float(match[3]), int(match[4])
            rows.append((label, rps, p50, p95, errors))
        trivial = rows[0][1]
        print(f"gunicorn workers={args.workers}, wrk 2 threads, {args.connections} connections, "
              f"{args.seconds}s per target, {os.cpu_count()} cores (server and load share them)")
        print(f"{'target':32} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'vs trivial':>11}")
        for label, rps, p50, p95, errors in rows:
            print(f"{label:32} {rps:9.1f} {p50:8.2f} {p95:8.2f} {errors:7d} {rps / trivial:10.2f}x")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
