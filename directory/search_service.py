"""The meaning half of search in one process that serves every gunicorn worker.

A worker holding the sentence model (43 MB of weights, 27 MB of tokenizer) and every team's
vectors (about 100 MB at 10,000 teams) was 440 MB resident, and each worker held its own copy.
`directory serve` starts this process beside gunicorn instead (`Supervisor`): it holds the model
and the vectors once (a `SemanticRanker`, loading and computing them as in one process), and
workers (`RemoteRanker`) send it the query before they score its words, so that the encoding and
the word scoring run at once on two cores, then read back every team's similarity (4 bytes a
team). Teams written anywhere reach it through the workers' index catch-up. When it does not
answer, search ranks by words, the worker logs it and /healthz says "unavailable"; the
supervisor starts it again.

Frames, both ways: two big-endian 32-bit lengths (a JSON header, a binary payload), then both.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOCKET_SETTING = "SEARCH_SERVICE_SOCKET"  # the app setting `directory serve` gives its workers (never the environment)
QUERY_TIMEOUT = 10.0     # seconds a search waits for the similarities before ranking by words
APPLY_TIMEOUT = 120.0    # seconds a worker's catch-up waits while a few written teams are embedded
STATUS_TIMEOUT = 2.0
FOLLOW_SECONDS = 2.0     # how often the service looks for changes no worker told it about
FOLDER_PREFIX = "directory-search-"
MAX_FRAME = 256 * 1024 * 1024
TEXT_KEYS = ("name", "department", "summary", "services", "tags", "description")  # what team_texts reads
_FRAME = struct.Struct(">II")


# -- frames ----------------------------------------------------------------------------------
def send(sock: socket.socket, header: dict[str, Any], payload: bytes = b"") -> None:
    data = json.dumps(header, separators=(",", ":")).encode()
    sock.sendall(_FRAME.pack(len(data), len(payload)) + data + payload)


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> tuple[dict[str, Any], bytes] | None:
    """The next frame, or None when the other side closed the connection."""
    head = _exactly(sock, _FRAME.size)
    if head is None:
        return None
    size, payload_size = _FRAME.unpack(head)
    if size > MAX_FRAME or payload_size > MAX_FRAME:
        raise ValueError(f"frame of {size} + {payload_size} bytes refused")
    data = _exactly(sock, size)
    payload = _exactly(sock, payload_size) if payload_size else b""
    if data is None or payload is None:
        return None
    return json.loads(data), payload


# -- the service -----------------------------------------------------------------------------
class _Handler(socketserver.BaseRequestHandler):
    """One worker's connection: requests answered in turn, each reply tagged with its request's
    number. The team ids behind the similarities are sent only when they changed since the last
    reply on this connection (after teams are added or removed)."""

    def handle(self) -> None:
        server: MeaningServer = self.server  # type: ignore[assignment]
        sent_ids: Any = None
        while True:
            try:
                message = receive(self.request)
            except (OSError, ValueError):
                return
            if message is None:
                return
            header, _payload = message
            payload = b""
            try:
                reply, similarities = server.answer(header)
                if similarities is not None:
                    payload = similarities.best_bytes()
                    if similarities.ids is not sent_ids:
                        reply["ids"] = list(similarities.ids)
                        sent_ids = similarities.ids
            except Exception as exc:
                log.exception("search service: %s failed", header.get("op"))
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            reply["n"] = header.get("n")
            try:
                send(self.request, reply, payload)
            except OSError:
                return


class MeaningServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers "similar", "apply" and "status" for a `SemanticRanker`."""

    daemon_threads = True

    def __init__(self, path: str, ranker: Any) -> None:
        self.ranker = ranker
        self.orphaned = False
        self.apply_lock = threading.Lock()  # two workers catching up on the same change embed it once
        super().__init__(path, _Handler)

    def answer(self, header: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        ranker, op = self.ranker, header.get("op")
        if op == "similar":
            q = str(header.get("q") or "")
            asked = ranker.for_query(q)
            similarities = ranker.similarities(q, header.get("corrected") or {}) if asked else None
            if similarities is None:
                return {"off": True, "generation": ranker.vectors.generation}, None
            return {"generation": asked[0], "count": len(similarities)}, similarities
        if op == "apply":
            with self.apply_lock:
                ranker.apply(header.get("teams") or [], header.get("deletes") or [])
            return {"generation": ranker.vectors.generation}, None
        if op == "status":
            status = ranker.status()
            if status == "ok" and not ranker.vectors.loaded:
                status = "loading"  # this process loads them at its start, not at the first search
            return {"status": status, "generation": ranker.vectors.generation}, None
        return {"error": f"unknown operation {op!r}"}, None


def _watch_parent(server: MeaningServer, parent: int) -> None:
    """Stop when the process that started this one is gone (the gunicorn master, killed or not),
    and remove the socket's folder it can no longer remove (with the model's graph, 40 MB)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    log.info("search service: the server that started it is gone; stopping")
    server.orphaned = True
    server.shutdown()


def serve(path: str, instance: str, layers_file: str | None = None) -> None:
    """Run the service on the Unix socket `path` for the directory in the `instance` folder, with
    the model's layers from `layers_file` when it was built (`Supervisor`)."""
    from search import semantic

    semantic._single_threaded_blas()
    semantic.use_a_second_core()
    semantic.LAYERS_FILE = layers_file
    from sqlalchemy.orm import sessionmaker

    from directory.config import from_environment
    from directory.db import DirectorySession, make_engine
    from directory.search_vectors import AUTO_MAX_TEAMS, SemanticRanker

    config = from_environment(Path(instance))
    engine = make_engine(config["DATABASE_URL"])
    factory = sessionmaker(engine, class_=DirectorySession, expire_on_commit=False)
    ranker = SemanticRanker(factory, enabled=config.get("SEARCH_SEMANTIC", False),
                            max_teams=int(config.get("SEARCH_SEMANTIC_MAX_TEAMS", AUTO_MAX_TEAMS)))
    parent = os.getppid()
    with MeaningServer(path, ranker) as server:
        threading.Thread(target=_watch_parent, args=(server, parent), daemon=True).start()
        threading.Thread(target=_load, args=(ranker, server), daemon=True, name="search-vectors-load").start()
        log.info("search service: answering on %s", path)
        server.serve_forever(poll_interval=0.5)
    if server.orphaned and os.path.basename(os.path.dirname(path)).startswith(FOLDER_PREFIX):
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _load(ranker: Any, server: MeaningServer) -> None:
    """The model and every team's vectors, ready before the first search asks for them; then
    follow the database's changes (`_follow`)."""
    from directory.queries import newest_change

    with ranker.factory() as session:
        last = newest_change(session)
    try:
        if ranker.enabled:
            ranker.ensure_loaded()
    except Exception:
        log.exception("search service: loading team vectors failed; search ranks by words alone")
    _follow(ranker, server, last)


def _follow(ranker: Any, server: MeaningServer, last: int) -> None:
    """Every FOLLOW_SECONDS, take in the teams changed since `last` (the newest revision seen).
    Workers tell the service what they index, but not everything that is written reaches a
    worker's index first: `directory import` and other commands update the index and the
    stored vectors themselves. The recent past is read again each time (`queries.recent_changes`),
    for transactions that commit out of order; teams whose text is unchanged cost nothing."""
    from sqlalchemy import select

    from directory.models import Team
    from directory.queries import newest_change, recent_changes

    while True:
        time.sleep(FOLLOW_SECONDS)
        try:
            with ranker.factory() as session:
                newest = newest_change(session)
                if newest == last or not ranker.enabled or not ranker.vectors.loaded:
                    continue
                changed = set(recent_changes(session, last))
                rows = session.execute(select(Team.id, Team.data, Team.archived_at).where(Team.id.in_(changed))).all()
            upserts = [dict(data, id=team_id) for team_id, data, archived in rows if archived is None]
            gone = changed - {doc["id"] for doc in upserts}
            with server.apply_lock:
                ranker.apply(upserts, gone)
            last = newest
        except Exception:
            log.exception("search service: following the directory's changes failed; trying again")


# -- the workers' side ------------------------------------------------------------------------
class _Connection:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(QUERY_TIMEOUT)
        self.sock.connect(path)
        self.ids: list[int] = []
        self.rows: dict[int, int] = {}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class RemoteRanker:
    """What a served worker uses instead of a `SemanticRanker`: the same `apply`, `for_query` and
    `status`, answered by the service. Holds no model and no vectors."""

    background = True  # for the CLI's interface; the service decides

    def __init__(self, path: str) -> None:
        self.path = path
        self.generation = 0
        # Changes whenever the service stops or starts answering: part of the key under which the
        # index keeps answers, so one ranked by words while it was down is not served once it is
        # back (a restarted service may reach the same generation).
        self._epoch = 0
        self._local = threading.local()
        self._numbers = itertools.count(1)
        self._down_since: float | None = None

    # -- talking ---------------------------------------------------------------------------
    def _connection(self) -> _Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _Connection(self.path)
        return connection

    def _drop(self, exc: BaseException) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._epoch += 1
            log.warning("search service at %s not answering (%s); search ranks by words alone", self.path, exc)

    def _start(self, header: dict[str, Any]) -> tuple[_Connection, int] | None:
        number = next(self._numbers)
        try:
            connection = self._connection()
            send(connection.sock, dict(header, n=number))
        except OSError as exc:
            self._drop(exc)
            return None
        return connection, number

    def _finish(self, started: tuple[_Connection, int] | None, timeout: float) -> tuple[dict[str, Any], bytes] | None:
        """The reply to the request `started` (replies to requests abandoned before it are skipped)."""
        if started is None:
            return None
        connection, number = started
        try:
            connection.sock.settimeout(timeout)
            while True:
                message = receive(connection.sock)
                if message is None:
                    raise ConnectionError("the search service closed the connection")
                reply = message[0]
                # Every reply read counts, an abandoned request's too: ids are sent once.
                if "generation" in reply:
                    self.generation = int(reply["generation"])
                if "ids" in reply:
                    connection.ids = reply["ids"]
                    connection.rows = {team_id: row for row, team_id in enumerate(connection.ids)}
                if reply.get("n") == number:
                    break
        except (OSError, ValueError) as exc:
            self._drop(exc)
            return None
        if self._down_since is not None:
            log.info("search service answering again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None
            self._epoch += 1
        if "error" in reply:
            log.warning("search service: %s", reply["error"])
            return None
        return message

    def _call(self, header: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        message = self._finish(self._start(header), timeout)
        return message[0] if message else None

    # -- the ranker's interface ------------------------------------------------------------
    def apply(self, upserts: Sequence[dict[str, Any]], deletes: Iterable[int]) -> None:
        """Tell the service about teams the index just took in (it embeds what it has not seen)."""
        deletes = list(deletes)
        if not upserts and not deletes:
            return
        teams = [dict({key: doc[key] for key in TEXT_KEYS if key in doc}, id=doc["id"]) for doc in upserts]
        self._call({"op": "apply", "teams": teams, "deletes": deletes}, APPLY_TIMEOUT)

    def for_query(self, q: str, corrected: Callable[[], dict[str, str]] | None = None
                  ) -> tuple[Any, Callable[[str, dict[str, str]], Callable[[], Any]]] | None:
        """(key, asker) for the index, the query already sent with its `corrected()` words: the
        service works on it while this worker reads the database and scores the words. While the
        service is down, the key is one no answer is kept under, so every search asks again and
        finds it back."""
        q = (q or "").strip()
        if not q or q == "*":
            return None
        fixes = corrected() if corrected else {}
        self._local.sent = (q, fixes, self._start({"op": "similar", "q": q, "corrected": fixes}))
        return ((self.generation, self._epoch) if self._down_since is None else object()), self.ask

    def ask(self, q: str, corrected: dict[str, str] | None = None) -> Callable[[], Any]:
        """The returned function waits for the similarities (None: words alone) of the query sent
        by `for_query`, or of this one, sent now if it differs from that one."""
        sent = getattr(self._local, "sent", None)
        self._local.sent = None
        if sent is not None and sent[0] == q.strip() and sent[1] == (corrected or {}):
            started = sent[2]
        else:
            started = self._start({"op": "similar", "q": q.strip(), "corrected": corrected or {}})

        def similarities() -> Any:
            import numpy as np

            from search.semantic import Similarities

            message = self._finish(started, QUERY_TIMEOUT)
            if message is None or message[0].get("off") or started is None:
                return None
            connection = started[0]
            best = np.frombuffer(message[1], dtype=np.float32)
            if len(best) != len(connection.ids):
                log.warning("search service: %d similarities for %d teams; ranking by words", len(best),
                            len(connection.ids))
                return None
            return Similarities(best, connection.ids, connection.rows)

        return similarities

    def status(self) -> str:
        reply = self._call({"op": "status"}, STATUS_TIMEOUT)
        return str(reply["status"]) if reply and "status" in reply else "unavailable"


# -- running it beside gunicorn ---------------------------------------------------------------
class Supervisor:
    """Starts the service for `directory serve`, starts it again if it dies, stops it at exit.
    Its socket lives in a private temporary folder (0700): only this user's processes can ask."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
        self.path = os.path.join(self.folder, "meaning.sock")
        self.layers = os.path.join(self.folder, "layers.onnx")
        self.process: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        self._stopping = False

    def start(self, wait: float = 30.0) -> str:
        """Start the service and wait until it listens; the socket's path (for the workers)."""
        self._spawn()
        threading.Thread(target=self._watch, daemon=True, name="search-service-supervisor").start()
        atexit.register(self.stop)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not self._listening():
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.05)
        return self.path

    def _listening(self) -> bool:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.path)
            return True
        except OSError:
            return False
        finally:
            probe.close()

    def _spawn(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)
        if not os.path.exists(self.layers):  # built apart: the service never imports onnx
            built = subprocess.run([sys.executable, "-m", "search.onnx_layers", self.layers], check=False)
            if built.returncode:
                log.warning("building the model's graph failed (exit %s); the service builds it itself",
                            built.returncode)
        # Few malloc arenas (each handler thread's own would keep what its last query freed), and
        # blocks of 1 MB and more always mapped apart, so the vectors' blocks go back once freed.
        env = dict({"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}, **os.environ)
        self.process = subprocess.Popen([sys.executable, "-m", "directory.search_service", self.path, self.instance,
                                         self.layers], env=env)

    def _watch(self) -> None:
        """Start the service again after a crash (killed, out of memory, an error), not after a
        stop asked for: the signal that stops the server (to its process group) reaches it too."""
        while not self._stopping and self.process is not None:
            code = self.process.wait()
            if self._stopping:
                return
            if code in (-signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP):
                log.warning("search service stopped by signal %d; search ranks by words until the server "
                            "is restarted", -code)
                return
            log.warning("search service stopped (exit %s); starting it again", code)
            time.sleep(1.0)
            if not self._stopping:
                self._spawn()

    def stop(self) -> None:
        """Stop the service (only from the process that started it: gunicorn's workers inherit
        this exit hook)."""
        if os.getpid() != self._owner or self._stopping:
            return
        self._stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        raise SystemExit("usage: python -m directory.search_service SOCKET INSTANCE [LAYERS.onnx]")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [search-service %(process)d] %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        serve(*args)


if __name__ == "__main__":
    main()
