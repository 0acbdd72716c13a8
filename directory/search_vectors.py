"""The semantic half of search: team vectors kept in step with the database.

Vectors are computed when a team is written or imported (after the commit, in batches, with the
index update) and stored in `team_vectors` by content hash, so a reindex, a restart or another
host sharing the database finds them instead of recomputing. Each process holds every team's
vector in memory (`search.semantic.TeamVectors`), loaded at its first search and refreshed by
the same catch-up that keeps the index current. Without the model, search stays lexical.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from directory import queries
from directory.models import Team, TeamVector
from search import semantic

log = logging.getLogger(__name__)

BATCH_TEAMS = 64          # teams embedded, then stored, per batch
INLINE_TEAMS = 20         # at most this many missing vectors are computed within the search that needs them
INLINE_LOAD = 2000        # and the vectors of at most this many teams are read within it (10,000: seconds)
AUTO_MAX_TEAMS = 5000     # "auto" ranks by meaning up to this many teams (memory and latency budgets)
RECOUNT_SECONDS = 300     # how often "auto" counts the teams again
LOAD_CHUNK = 500          # teams read, hashed and looked up at a time


class SemanticRanker:
    """Team vectors for one process, and the query's similarities to them."""

    def __init__(self, factory: sessionmaker[Session], enabled: bool | str = True,
                 max_teams: int = AUTO_MAX_TEAMS) -> None:
        """`enabled`: True, False or "auto" (on while the directory holds at most `max_teams` teams:
        measured served as `make run` with the search service, at 5,000 teams a search's p95 was
        19.6 ms and the service 208 MB; at 10,000, 26.6 ms (1.67x raw Whoosh) and 241 MB, past
        this project's budget of 25 ms or 1.5x, so a larger directory ranks by words unless told)."""
        self.factory = factory
        self.mode = enabled
        self.max_teams = max_teams
        self._counted: tuple[float, int] | None = None
        # Many missing vectors are computed by a background thread; a command that computes them
        # itself afterwards (`directory import`, with a progress bar) turns this off.
        self.background = True
        self.vectors = semantic.TeamVectors()
        self._load_lock = threading.Lock()
        self._filler: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether this process ranks by meaning now ("auto" recounts the teams now and then)."""
        if self.mode != "auto":
            return bool(self.mode)
        now = time.monotonic()
        if self._counted is None or now - self._counted[0] > RECOUNT_SECONDS:
            with self.factory() as session:
                count = queries.count_teams(session)
            if self._counted is None or (self._counted[1] <= self.max_teams) != (count <= self.max_teams):
                log.info("semantic search %s: %d teams (SEARCH_SEMANTIC=auto ranks by meaning up to %d)",
                         "on" if count <= self.max_teams else "off", count, self.max_teams)
            self._counted = (now, count)
        return self._counted[1] <= self.max_teams

    def encoder(self) -> semantic.Encoder | None:
        return semantic.load_encoder() if self.enabled else None

    def status(self) -> str:
        """For /healthz: "ok", "unavailable" (no model: lexical only), "loading", "off", or
        "off: too many teams" (SEARCH_SEMANTIC=auto past its limit)."""
        if not self.enabled:
            return "off: too many teams" if self.mode == "auto" else "off"
        state = semantic.encoder_status()
        if state == "unavailable" or (state == "not loaded" and semantic.model_dir() is None):
            return "unavailable"  # also before this process's first search tried to load it
        return "loading" if self._filler is not None and self._filler.is_alive() else "ok"

    # -- computing and caching ------------------------------------------------------------------
    def vectors_for(self, session: Session, docs: Iterable[dict[str, Any]],
                    progress: Callable[[int], None] | None = None) -> dict[int, tuple[str, Any]]:
        """Team id -> (hash, vectors) for these §1 dicts: from memory or the database when the text
        is unchanged, else embedded now (in batches) and stored for every process and host.
        `progress` is told how many teams each step settled.

        `docs` is read LOAD_CHUNK at a time and only the texts still to embed are kept: at 10,000
        teams, holding every page's dict and every stored vector's bytes at once left a process
        100 MB larger for good (freed, but too scattered to give back)."""
        encoder = self.encoder()
        if encoder is None:
            return {}
        found: dict[int, tuple[str, Any]] = {}
        missing: dict[str, list[int]] = {}
        texts: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(docs, LOAD_CHUNK):
            wanted: dict[str, list[int]] = {}
            chunk_texts: dict[str, tuple[str, str]] = {}
            for doc in chunk:
                text = semantic.team_texts(doc)
                digest = semantic.content_hash(*text)
                if self.vectors.hash_of(int(doc["id"])) == digest:
                    continue  # unchanged: already in memory
                chunk_texts.setdefault(digest, text)
                wanted.setdefault(digest, []).append(int(doc["id"]))
            stored = self._load(session, list(wanted), encoder.model)
            for digest, team_ids in wanted.items():
                if digest in stored:
                    found.update(dict.fromkeys(team_ids, (digest, stored[digest])))
                else:
                    missing.setdefault(digest, []).extend(team_ids)
                    texts[digest] = chunk_texts[digest]
            if progress is not None:
                progress(len(chunk) - sum(len(wanted[digest]) for digest in wanted if digest not in stored))
        keys = list(missing)
        # Each process takes the missing teams in its own order and looks again before each batch,
        # so workers, hosts and a command computing at the same time share the work.
        random.Random(os.getpid()).shuffle(keys)
        for start in range(0, len(keys), BATCH_TEAMS):
            batch = keys[start:start + BATCH_TEAMS]
            elsewhere = self._load(session, batch, encoder.model) if start else {}
            session.commit()  # no read transaction held while computing: writers are not held up
            todo = [digest for digest in batch if digest not in elsewhere]
            matrices = semantic.embed_teams(encoder, [texts.pop(digest) for digest in todo]) if todo else []
            computed = dict(zip(todo, matrices, strict=True))
            self._store(session, computed, encoder.model)
            for digest, matrix in (*elsewhere.items(), *computed.items()):
                found.update(dict.fromkeys(missing[digest], (digest, matrix)))
            if progress is not None:
                progress(sum(len(missing[digest]) for digest in batch))
        return found

    @staticmethod
    def _load(session: Session, keys: Sequence[str], model: str) -> dict[str, Any]:
        """The stored vectors of these content hashes (those stored), copied into one block per 500
        (views into it), so no database buffer outlives the call."""
        import numpy as np

        stored: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            rows = session.execute(select(TeamVector.content_hash, TeamVector.vector)
                                   .where(TeamVector.content_hash.in_(keys[start:start + 500]),
                                          TeamVector.model == model)).all()
            width = semantic.DIMENSIONS * 4
            block = np.empty((sum(len(blob) for _, blob in rows) // width, semantic.DIMENSIONS), dtype=np.float32)
            row = 0
            for digest, blob in rows:
                count = len(blob) // width
                block[row:row + count] = np.frombuffer(blob, dtype=np.float32).reshape(count, semantic.DIMENSIONS)
                stored[digest] = block[row:row + count]
                row += count
            del rows
        return stored

    @staticmethod
    def _store(session: Session, computed: dict[str, Any], model: str) -> None:
        """Add the new vectors; another process storing the same hash first is fine (same vector),
        and a busy database only means they are computed again later."""
        if not computed:
            return
        try:
            with session.begin_nested():
                existing = set(session.scalars(select(TeamVector.content_hash)
                                               .where(TeamVector.content_hash.in_(list(computed)))))
                session.add_all(TeamVector(content_hash=digest, vector=matrix.astype("float32").tobytes(), model=model)
                                for digest, matrix in computed.items() if digest not in existing)
            session.commit()
        except IntegrityError:
            session.rollback()
        except OperationalError:
            session.rollback()
            log.warning("semantic search: the database was busy; %d team vectors are held but not stored",
                        len(computed))

    # -- keeping up ---------------------------------------------------------------------------
    def apply(self, upserts: Sequence[dict[str, Any]], deletes: Iterable[int]) -> None:
        """After the index applied these changes: vectors for the written teams (computed and stored
        even before this process has searched, so the first search finds them cached)."""
        if not self.enabled or (not upserts and not self.vectors.loaded):
            return
        with self.factory() as session:
            if len(upserts) > INLINE_TEAMS and self.encoder() is not None \
                    and self._missing(session, upserts) > INLINE_TEAMS:
                # A large import: the index has them already; their vectors follow.
                if self.background:
                    self.load_in_background()
                return
            found = self.vectors_for(session, upserts)
        if self.vectors.loaded:
            self.vectors.update(found, deletes)

    def missing(self) -> int:
        """How many current teams have no stored vector (0 without the model)."""
        if self.encoder() is None:
            return 0
        with self.factory() as session:
            return self._missing(session, self._each_current(session))

    def compute_missing(self, progress: Callable[[int], None] | None = None) -> int:
        """Compute and store every current team's missing vectors, in batches (`directory import`
        shows `progress`); returns how many teams have vectors."""
        if self.encoder() is None:
            return 0
        with self.factory() as session:
            return len(self.vectors_for(session, self._each_current(session), progress))

    @staticmethod
    def _current(session: Session) -> list[dict[str, Any]]:
        return list(SemanticRanker._each_current(session))

    @staticmethod
    def _each_current(session: Session) -> Iterator[dict[str, Any]]:
        """Every current team's §1 dict, read LOAD_CHUNK at a time (ids first, so no cursor is open
        while the caller queries or commits)."""
        ids = list(session.scalars(select(Team.id).where(Team.archived_at.is_(None)).order_by(Team.id)))
        for start in range(0, len(ids), LOAD_CHUNK):
            rows = session.execute(select(Team.id, Team.data).where(Team.id.in_(ids[start:start + LOAD_CHUNK]),
                                                                    Team.archived_at.is_(None)))
            yield from (dict(data, id=team_id) for team_id, data in rows)

    def load_in_background(self) -> bool:
        """Start reading, computing and then holding every team's vectors in the background, unless
        that runs already; `status` says "loading" meanwhile."""
        with self._load_lock:
            if self._filler is not None and self._filler.is_alive():
                return False
            self._filler = threading.Thread(target=self._fill, daemon=True, name="search-vectors")
            self._filler.start()
            return True

    def ensure_loaded(self) -> bool:
        """Load every team's vector at this process's first search; True when vectors are usable.
        Many teams' vectors are read, and many missing ones (a large import) computed, in the
        background meanwhile, and search ranks by words until they are in."""
        if self.vectors.loaded:
            return True
        if self.encoder() is None:
            return False
        with self._load_lock:
            if self.vectors.loaded:
                return True
            if self._filler is not None and self._filler.is_alive():
                return False
            with self.factory() as session:
                count = queries.count_teams(session)
                teams = self._current(session) if count <= INLINE_LOAD else []
                if count > INLINE_LOAD or (count > INLINE_TEAMS and self._missing(session, teams) > INLINE_TEAMS):
                    self._filler = threading.Thread(target=self._fill, daemon=True, name="search-vectors")
                    self._filler.start()
                    return False
                self.vectors.update(self.vectors_for(session, teams), replace=True)
            self.vectors.loaded = True
            return True

    def _missing(self, session: Session, teams: Iterable[dict[str, Any]]) -> int:
        hashes = {semantic.content_hash(*semantic.team_texts(doc)) for doc in teams}
        known: set[str] = set()
        keys = list(hashes)
        for start in range(0, len(keys), 500):
            known |= set(session.scalars(select(TeamVector.content_hash)
                                         .where(TeamVector.content_hash.in_(keys[start:start + 500]))))
        return len(hashes - known)

    def _fill(self) -> None:
        try:
            with self.factory() as session:
                found = self.vectors_for(session, self._each_current(session))
            count = len(found)
            with self._load_lock:
                self.vectors.update(found, replace=True)
                del found  # its blocks are freed once gathered into the matrix, and given back then
                self.vectors.compact()
                self.vectors.loaded = True
            # Teams written meanwhile had their vectors stored but not held here: pick them up.
            current: set[int] = set()

            def noted(docs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                for doc in docs:
                    current.add(doc["id"])
                    yield doc

            with self.factory() as session:
                changed = self.vectors_for(session, noted(self._each_current(session)))
            self.vectors.update(changed, set(self.vectors.team_ids()) - current)
            log.info("semantic search: vectors of %d teams computed", count)
        except Exception:
            log.exception("semantic search: computing team vectors failed; search ranks by words alone")

    # -- answering ------------------------------------------------------------------------------
    def for_query(self, q: str, corrected: Callable[[], dict[str, str]] | None = None
                  ) -> tuple[int, semantic.Asker] | None:
        """(the vectors' version, (query, corrected words) -> every team's cosine similarity) for the
        index, or None when search must rank by words alone (no model, vectors still loading, an
        empty query). The index calls it only when it has no cached answer."""
        if not self.enabled or not (q or "").strip() or q.strip() == "*":
            return None
        try:
            if not self.ensure_loaded():
                return None
        except Exception:
            log.exception("semantic search: loading team vectors failed; ranking by words alone")
            return None
        return self.vectors.generation, self.ask

    def ask(self, q: str, corrected: dict[str, str] | None = None) -> Callable[[], semantic.Similarities | None]:
        """`similarities`, worked out when the index asks for them (in this process, there is no
        other core to work them out on meanwhile)."""
        return lambda: self.similarities(q, corrected)

    def similarities(self, q: str, corrected: dict[str, str] | None = None) -> semantic.Similarities | None:
        """Every team's cosine similarity of its best passage to the query (None when it fails), with
        the index's spelling corrections applied to the words the model does not know."""
        encoder = self.encoder()
        if encoder is None:
            return None
        try:
            return self.vectors.similarities(encoder.encode_query(encoder.respell(q.strip(), corrected or {})))
        except Exception:
            log.exception("semantic search failed for this query; ranking by words alone")
            return None


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
