"""The team search index on disk: its files, the state sidecar, the locks and the writers.

On-disk layout of `path`:
- Whoosh files named after `INDEX_NAME`, which carries the schema version, so an index written
  by an older release is simply "absent" to this one (and `is_usable()` says False).
- `state.json`: schema version, the last change sequence applied (every change up to it is in
  the index) and `applied`, which teams were indexed as of which change above a recent point
  (so a change whose update failed is told apart from one applied out of order), written
  atomically while the write lock is held, after the index commit (a crash in between leaves
  the state behind the index, never ahead, so a catch-up re-applies rather than skips).
- `<INDEX_NAME>_WRITELOCK`: an fcntl lock every writer takes (the same file Whoosh's own
  writer would lock), with a timeout.
- `.<dirname>.rebuild-lock`, beside the folder (so it survives the folder being deleted): held
  for a whole rebuild, so that of the processes noticing a lost index only one rebuilds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from search.documents import INDEX_NAME, SCHEMA_VERSION, build_schema, codec, document_fields
from search.whoosh_internals import install_build, read_build, writer_under_held_lock

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
_OLD_VERSION_FILE = re.compile(r"^_?teams_v(\d+)_")


class IndexLockedError(RuntimeError):
    """Another writer held the index lock for longer than the timeout."""


class IndexUnusableError(RuntimeError):
    """The index is missing, corrupt or of another schema version: rebuild it."""


class IndexStorage:
    """The index files at `path`: health, state, rebuilds and updates, safe between processes.

    Writes take a file lock for at most `lock_timeout` seconds, then raise IndexLockedError.
    """

    def __init__(self, path: str | os.PathLike[str], lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    # -- state and health ---------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any] | None:
        """The sidecar, read afresh each time (a few dozen microseconds): caching it by mtime
        could miss a write made within the same clock tick by another process."""
        try:
            state = json.loads((self.path / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def _write_state(self, seq: int, *, replace: bool = False, applied: dict[int, int] | None = None,
                     keep_after: int | None = None) -> None:
        """Record `seq` (max with the stored one unless `replace`) and merge `applied` (team id ->
        change), forgetting entries at or below `keep_after`. Call with the write lock held."""
        old_seq, old_applied = (0, {}) if replace else self.state()
        new = int(seq) if replace else max(int(seq), old_seq)
        merged = dict(old_applied)
        for team_id, change in (applied or {}).items():
            merged[int(team_id)] = max(int(change), merged.get(int(team_id), 0))
        if keep_after is not None:
            merged = {t: c for t, c in merged.items() if c > keep_after}
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"schema_version": SCHEMA_VERSION, "last_seq": new, "updated_at": time.time(),
                       "applied": {str(t): c for t, c in sorted(merged.items())}}, f)
        os.replace(tmp, self.path / STATE_FILE)

    def state(self) -> tuple[int, dict[int, int]]:
        """(last change sequence applied, {team id: change it was indexed as of}); (0, {}) when
        unknown. One small file read: cheap enough to call per search."""
        state = self._read_state()
        if not state or state.get("schema_version") != SCHEMA_VERSION:
            return 0, {}
        try:
            seq = int(state.get("last_seq") or 0)
            raw = state.get("applied") or {}
            applied = {int(t): int(c) for t, c in raw.items()} if isinstance(raw, dict) else {}
        except (TypeError, ValueError, AttributeError):
            return 0, {}
        return seq, applied

    def last_seq(self) -> int:
        """The last change sequence applied (0 when unknown). Cheap enough to call per search."""
        return self.state()[0]

    def is_usable(self) -> bool:
        """True when the index exists, opens and has this release's schema. Never raises."""
        try:
            state = self._read_state()
            if not state or state.get("schema_version") != SCHEMA_VERSION:
                return False
            return self._opens_and_reads()
        except Exception:
            log.debug("search index at %s is not usable", self.path, exc_info=True)
            return False

    def _opens_and_reads(self) -> bool:
        """Whether the Whoosh index is there with this release's fields, and each kind of its files
        (stored fields, terms, postings) reads; raises when a file is corrupt."""
        if not whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
            return False
        ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
        if sorted(ix.schema.names()) != sorted(build_schema().names()):
            return False
        with ix.reader() as reader:
            for docnum in reader.all_doc_ids():
                reader.stored_fields(docnum)
                break
            for term in reader.lexicon("body"):
                list(reader.postings("body", term).all_ids())
                break
        return True

    # -- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def rebuild_lock(self) -> Iterator[None]:
        """Held for a whole rebuild, waiting as long as another process's rebuild takes.

        Beside the index folder rather than in it, so that deleting the folder does not give
        each process a lock file of its own. A flock is per open file, so threads of one
        process exclude each other too.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent / f".{self.path.name}.rebuild-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """The index's write lock, retried with jitter until `lock_timeout`."""
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileStorage(str(self.path)).lock(f"{INDEX_NAME}_WRITELOCK")
        deadline = time.monotonic() + self.lock_timeout
        while not lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise IndexLockedError(
                    f"search index {self.path} stayed locked by another writer for {self.lock_timeout:g}s"
                )
            time.sleep(random.uniform(0.005, 0.03))
        try:
            yield
        finally:
            lock.release()

    def rebuild(self, docs: Iterable[dict[str, Any]], seq: int,
                progress: Callable[[int], None] | None = None, applied: dict[int, int] | None = None) -> int:
        """Index `docs` from scratch and record `seq` as the last change applied (and `applied`,
        as in `apply`); returns the count. Callers serialise rebuilds with `rebuild_lock()`.

        The new index is written in a scratch directory without holding the lock, then swapped
        in under the lock with one atomic table-of-contents write, so searches never see a
        half-built index and other writers wait only for the swap. Changes applied by others
        while building are replaced by this snapshot; since `seq` is recorded as is, a catch-up
        from `last_seq()` re-applies them.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        self._remove_stale_builds()
        build_dir = Path(tempfile.mkdtemp(prefix=".build-", dir=self.path))
        try:
            build_ix = FileStorage(str(build_dir)).create_index(build_schema(), indexname=INDEX_NAME)
            writer = build_ix.writer(limitmb=256, codec=codec(), compound=False)
            count = 0
            try:
                for doc in docs:
                    writer.add_document(**document_fields(doc))
                    count += 1
                    if progress is not None and count % 500 == 0:
                        progress(count)
                writer.commit(optimize=True)
            except BaseException:
                writer.cancel()
                raise
            toc = read_build(build_dir)
            with self._write_lock():
                install_build(toc, build_dir, self.path)
                self._remove_other_versions()
                self._write_state(seq, replace=True, applied=applied)
            if progress is not None:
                progress(count)
            return count
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)

    def apply(self, upserts: Iterable[dict[str, Any]], deletes: Iterable[int], seq: int,
              applied: dict[int, int] | None = None, keep_after: int | None = None) -> None:
        """Upsert and delete teams by id in one commit; record `seq` if above the stored one.

        `applied` (team id -> change the written document is as of) is merged into the state,
        whose entries at or below `keep_after` are forgotten; see `state()`. Idempotent, so
        replaying a range of changes is harmless. A team both upserted and deleted in one call
        ends up deleted.
        """
        delete_ids = list(dict.fromkeys(str(int(i)) for i in deletes))
        doomed = set(delete_ids)
        # Whoosh cannot delete what the same writer added, so a deleted team is never added.
        fields = [f for f in (document_fields(doc) for doc in upserts) if f["id"] not in doomed]
        with self._write_lock():
            if fields or delete_ids:
                self._commit(fields, delete_ids)
            self._write_state(seq, applied=applied, keep_after=keep_after)

    def _commit(self, fields: list[dict[str, Any]], delete_ids: list[str]) -> None:
        """Write upserts and deletions in one Whoosh commit. Call with the write lock held."""
        try:
            ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
        except Exception as exc:
            raise IndexUnusableError(f"search index {self.path} cannot be opened; rebuild it") from exc
        writer = writer_under_held_lock(ix)
        try:
            for doc_fields in fields:
                writer.update_document(**doc_fields)
            for team_id in delete_ids:
                writer.delete_by_term("id", team_id)
            writer.commit()
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise

    def _remove_stale_builds(self) -> None:
        """Scratch directories left by a rebuild whose process died."""
        for entry in self.path.glob(".build-*"):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)

    def _remove_other_versions(self) -> None:
        for name in os.listdir(self.path):
            m = _OLD_VERSION_FILE.match(name)
            if m and int(m.group(1)) != SCHEMA_VERSION and not name.endswith("_WRITELOCK"):
                with contextlib.suppress(OSError):
                    os.remove(self.path / name)
