"""The fastText training call itself, run in a fresh process (see `langid.train`). Imports fastText only.

In a long-lived process that has already allocated and freed much memory, this fastText wheel's trainer
often stops with "Encountered NaN." whatever the learning rate (measured here: 8 tries in a row failed in a
pytest process after other tests, and about half of the runs in a loop in one process, with lr 0.5, 0.1 and
0.02 alike; a training as the first thing in a fresh process succeeded every time), which points at memory
it reads before writing. One fresh process per training avoids it.
"""

from __future__ import annotations


def fit(train_file: str, out_path: str, opts: dict, quantize: dict | None, verbose: int) -> int:
    """Train (and quantize) on `train_file`, save to `out_path`; return the number of labels."""
    import fasttext

    model = fasttext.train_supervised(input=train_file, verbose=verbose, **opts)
    if quantize is not None:
        model.quantize(input=train_file, verbose=verbose, **quantize)
    model.save_model(out_path)
    return len(model.get_labels())
