"""Per-batch checkpoints: a finished batch's rephrased documents (Parquet) and a small JSON that names
the batch's source documents and counts. The JSON is written last, so it marks the batch as done; a
Parquet part without one is a batch that was cut off and is removed before the run goes on. Both are
written under a temporary name and renamed, so a killed run leaves whole files or none.

A restarted run finds each finished batch by number, checks it holds the same source documents, and
takes its output from disk instead of asking the model again: nothing is asked twice, nothing written twice.
A batch that lost passages to server trouble (timeouts, 5xx, dropped connections after all retries) is
kept but marked `retry`: a later run asks it again and replaces its output.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation import atomic
from curation.core import Document
from rephrase.engine import BatchResult

COLUMNS = [
    ("id", pa.string()), ("text", pa.string()), ("source_id", pa.string()), ("url", pa.string()),
    ("snapshot", pa.string()), ("date", pa.string()), ("language", pa.string()), ("source_language", pa.string()),
    ("rephrase_style", pa.string()), ("rephrase_model", pa.string()), ("rephrase_passages", pa.int64()),
    ("rephrase_passages_kept", pa.int64()), ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()),
    ("minhash_cluster_size", pa.int64()), ("minhash_cluster_id", pa.string()),
]
SCHEMA = pa.schema(COLUMNS)


def batch_digest(docs: list[Document]) -> str:
    h = hashlib.sha1()
    for d in docs:
        h.update(f"{d.id}\x00{len(d.text or '')}\x00".encode())
    return h.hexdigest()


def to_table(docs: list[Document]) -> pa.Table:
    rows = {name: [] for name, _ in COLUMNS}
    for d in docs:
        for name, typ in COLUMNS:
            v = d.text if name == "text" else str(d.id) if name == "id" else d.metadata.get(name)
            if v is not None and typ == pa.string():
                v = str(v)
            elif v is not None and typ == pa.int64():
                try:
                    v = int(v)
                except (TypeError, ValueError):
                    v = None
            rows[name].append(v)
    return pa.table(rows, schema=SCHEMA)


def from_table(table: pa.Table) -> list[Document]:
    out = []
    for row in table.to_pylist():
        text, doc_id = row.pop("text"), row.pop("id")
        out.append(Document(text=text, id=doc_id, metadata={k: v for k, v in row.items() if v is not None}))
    return out



class BatchCheckpoint:
    """Finished batches in `folder`: `part-NNNNNN.parquet` (the rephrased documents, absent when a batch
    kept none) and `markers/part-NNNNNN.json` (done marker: the batch's digest, counts and a sample of its
    rejected outputs)."""

    def __init__(self, folder: str | Path, markers: str = "_progress"):
        self.folder = Path(folder)
        self.markers = self.folder / markers
        self.markers.mkdir(parents=True, exist_ok=True)
        self.remove_unfinished()

    def part(self, bid: int) -> Path:
        return self.folder / f"part-{bid:06d}.parquet"

    def marker(self, bid: int) -> Path:
        return self.markers / f"part-{bid:06d}.json"

    def remove_unfinished(self) -> int:
        """Delete parts and temporary files of batches that never got their done marker."""
        n = atomic.remove_temp_files(self.folder)
        # parts of batches without a marker, and temporary files of earlier versions (`part-*.parquet.tmp`)
        for p in list(self.folder.glob("part-*.parquet*")) + list(self.markers.glob("*.tmp")):
            if p.name.endswith(".tmp") or not self.marker(int(p.name[5:11])).exists():
                p.unlink(missing_ok=True)
                n += 1
        return n

    def load(self, bid: int, docs: list[Document]) -> BatchResult | None:
        marker = self.marker(bid)
        if not marker.exists():
            return None
        info = json.loads(marker.read_text())
        if info.get("retry"):  # server trouble cost it passages last time: ask again, replacing its output
            return None
        if info.get("digest") != batch_digest(docs):  # other documents than last time: ask again
            marker.unlink()
            self.part(bid).unlink(missing_ok=True)
            return None
        outputs = from_table(pq.read_table(self.part(bid))) if info.get("rows") else []
        return BatchResult(outputs=outputs, counts=Counter(info.get("counts", {})), cached=True,
                           rejected=info.get("rejected", []))

    def save(self, bid: int, docs: list[Document], result: BatchResult) -> None:
        """Write the batch's part, then its marker; a batch saved again replaces both (never a second copy)."""
        if not result.outputs:
            self.part(bid).unlink(missing_ok=True)
        else:
            table = to_table(result.outputs)
            atomic.write_with(self.part(bid), lambda p: pq.write_table(table, p, compression="zstd"))
        info = {"digest": batch_digest(docs), "rows": len(result.outputs), "counts": dict(result.counts),
                "retry": result.retry, "rejected": result.rejected}
        atomic.write_with(self.marker(bid), lambda p: p.write_text(json.dumps(info)))

    def done_counts(self) -> Counter:
        total = Counter()
        for m in self.markers.glob("part-*.json"):
            total.update(json.loads(m.read_text()).get("counts", {}))
        return total
