"""Train a small fastText language-ID classifier (one label per `iso639-3_Script`) on a labelled set.

Character n-grams (1-4) hashed into `bucket` rows carry most of the signal for short or rare-language text.
By default the model is quantized to a `.ftz` (product quantization, only the `cutoff` rows with the
largest norms kept, then fine-tuned), which keeps it in the low megabytes whatever the corpus size; the
labels are written as `__label__fra_Latn`, so the model plugs into the `langid` stage as it is.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from datatrove.utils.logging import logger

from curation.core import CurationError
from langid.data import LabelledSet
from langid.fit import fit
from langid.loading import forget_model

# A NaN that still happens in the fresh process (`langid.fit`) is tried again a few times before it is
# reported: a real divergence (learning rate too high) fails every try and is reported with its remedy.
NAN_TRIES = 3


@dataclass
class TrainConfig:
    """fastText supervised options (the names of its own flags)."""

    dim: int = 16
    epoch: int = 20
    lr: float = 0.5
    minn: int = 1
    maxn: int = 4
    wordNgrams: int = 1  # noqa: N815 (fastText's name)
    minCount: int = 1  # noqa: N815
    bucket: int = 200_000
    loss: str = "softmax"
    thread: int = 2
    seed: int = 0
    quantize: bool = True
    cutoff: int = 50_000  # rows of the input matrix kept by quantization (words + n-gram buckets)
    retrain: bool = True  # fine-tune the kept rows after pruning
    retrain_epoch: int = 1  # passes of that fine-tuning (fastText's default is `epoch` again)
    short_copies: int = 1  # per document, this many extra lines of 1-3 of its words (short-text robustness)


def split_heldout(data: LabelledSet, share: float, seed: int = 0) -> tuple[LabelledSet, LabelledSet]:
    """Stratified, seeded split: `share` of each language's documents (at least one when it has two) held out."""
    if not 0 < share < 1:
        raise CurationError(f"held-out share must be between 0 and 1, not {share}")
    rng = random.Random(seed)
    train, held = LabelledSet(source=f"{data.source} (train)"), LabelledSet(source=f"{data.source} (held out)")
    for lab, idx in sorted(data.by_label().items()):
        idx = idx[:]
        rng.shuffle(idx)
        k = max(1, round(share * len(idx))) if len(idx) > 1 else 0
        for j, i in enumerate(idx):
            dest = held if j < k else train
            dest.texts.append(data.texts[i])
            dest.labels.append(lab)
    return train, held


def short_windows(text: str, copies: int, rng: random.Random) -> list[str]:
    """`copies` random runs of 1-3 consecutive words of `text` (none when it has fewer than 4 words): a model
    trained on whole sentences only is lost on a word pair or a title."""
    words = text.split()
    if len(words) < 4:
        return []
    out = []
    for _ in range(copies):
        n = rng.randint(1, 3)
        start = rng.randrange(len(words) - n + 1)
        out.append(" ".join(words[start:start + n]))
    return out


def write_fasttext_input(data: LabelledSet, path: str, seed: int = 0, short_copies: int = 0) -> None:
    """`__label__xxx_Scrp text` lines, shuffled (fastText's SGD reads the file in order), with
    `short_copies` short windows of each document as extra lines."""
    rng = random.Random(seed)
    lines = []
    for text, label in zip(data.texts, data.labels):
        lines.append(f"__label__{label} {' '.join(text.split())}\n")
        lines += [f"__label__{label} {w}\n" for w in short_windows(text, short_copies, rng)]
    rng.shuffle(lines)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def train_model(data: LabelledSet, output: str, config: TrainConfig = TrainConfig(), verbose: int = 0) -> dict:
    """Train on `data`, write the model to `output` atomically; returns the model's size and labels."""
    if len(set(data.labels)) < 2:
        raise CurationError(f"{data.source}: training needs at least two languages, found "
                            f"{', '.join(sorted(set(data.labels))) or 'none'}")
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    opts = {k: v for k, v in asdict(config).items()
            if k not in ("quantize", "cutoff", "retrain", "retrain_epoch", "short_copies")}
    with tempfile.TemporaryDirectory(prefix="curate-langid-", dir=out.parent) as tmp:
        train_file = os.path.join(tmp, "train.txt")
        write_fasttext_input(data, train_file, config.seed, config.short_copies)
        tmp_model = os.path.join(tmp, "model" + (".ftz" if config.quantize else ".bin"))
        quantize = (dict(qnorm=True, retrain=config.retrain, cutoff=config.cutoff, epoch=config.retrain_epoch,
                         lr=config.lr, thread=config.thread) if config.quantize else None)
        ctx = multiprocessing.get_context("spawn")
        for attempt in range(1, NAN_TRIES + 1):
            try:
                with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                    n_labels = pool.submit(fit, train_file, tmp_model, opts, quantize, verbose).result()
                break
            except (RuntimeError, ValueError) as e:
                if "NaN" not in str(e) or attempt == NAN_TRIES:
                    raise CurationError(f"{data.source}: fastText training failed ({e})"
                                        + ("; try a lower --lr" if "NaN" in str(e) else "")) from None
                logger.warning(f"fastText reported '{e}' (try {attempt} of {NAN_TRIES}); training again")
        os.replace(tmp_model, out)
    forget_model(str(out))  # a model loaded earlier from this path is stale now
    return {"path": str(out), "bytes": out.stat().st_size, "labels": n_labels,
            "documents": len(data), "config": asdict(config)}
