"""A progress bar over the documents a task reads: documents and MB per second."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from curation.core import Stage


class Progress(Stage):
    """Counts documents as they leave the reader; one bar per worker."""

    name = "⏱ Progress"

    def __init__(self, workers: int = 1, every: int = 25):
        super().__init__()
        self.workers = max(workers, 1)
        self.every = every

    def run(self, data, rank: int = 0, world_size: int = 1):
        tty = sys.stderr.isatty()
        bar = tqdm(desc=f"task {rank}", unit=" docs", position=rank % self.workers, leave=True,
                   mininterval=0.5 if tty else 15, dynamic_ncols=True, file=sys.stderr)
        start, chars, n = time.monotonic(), 0, 0
        try:
            for doc in data:
                n += 1
                chars += len(doc.text)
                if n % self.every == 0:
                    bar.update(self.every)
                    bar.set_postfix_str(f"{chars / 1e6 / max(time.monotonic() - start, 1e-9):.2f} MB/s", refresh=False)
                yield doc
        finally:
            bar.update(n % self.every)
            bar.set_postfix_str(f"{chars / 1e6 / max(time.monotonic() - start, 1e-9):.2f} MB/s", refresh=False)
            bar.close()
