"""Whether a rephrasing run did its job, said in one line: a run that kept nothing, or lost more than a
given share of its passages (rejected by the checks or failed at the server), is a failed run, and the
line names the main reasons and what they usually mean ("0 of 8 passages kept: 8 truncated at 512 tokens;
the model may not be instruction-tuned").
"""

from __future__ import annotations

from collections.abc import Mapping

from curation.core import CurationError

EXIT_SHORTFALL = 3  # the run finished, but kept nothing or too little (2: it could not run)

_HINTS = {
    "rejected/truncated": "the model may not be instruction-tuned (it does not stop), or the output limit is too low",
    "rejected/prompt_echo": "the model may not be instruction-tuned (it continues the prompt)",
    "rejected/repetitive": "the model loops: try a lower temperature or another model",
    "rejected/wrong_language": "the model does not write the target language (--no-language-check keeps them)",
    "rejected/empty": "the model answered nothing: check the server's chat template",
    "failed/timeout": "the server answers more slowly than --timeout",
    "failed/connection": "the server cannot be reached or drops connections",
    "failed/malformed_response": "the server's answers are not chat completions",
}


class RephraseShortfall(CurationError):
    """The run finished but kept nothing, or lost more than the allowed share of passages."""

    exit_code = EXIT_SHORTFALL


def _label(reason: str, n: int, output_limits: tuple[int, ...]) -> str:
    kind, _, what = reason.partition("/")
    if reason == "rejected/truncated" and output_limits:
        at = "/".join(str(t) for t in output_limits)
        return f"{n} truncated at {at} tokens"
    if kind == "failed":
        return f"{n} failed ({what})"
    return f"{n} {what.replace('_', ' ')}"


def _hint(reason: str) -> str | None:
    if reason in _HINTS:
        return _HINTS[reason]
    if reason.startswith("failed/http_5"):
        return "the server fails: see its log"
    if reason.startswith("failed/http_4"):
        return "the server refuses the requests (the model name, or prompts over its context)"
    if reason.startswith("skipped/"):
        return "no passage was asked"
    return None


def shortfall(counts: Mapping[str, int], fail_above: float = 0.5,
              output_limits: tuple[int, ...] = ()) -> str | None:
    """None when the run did its job, else the one line that says why not. `counts` are the run's totals
    (passages, passages_kept, rephrased, in, and the per-reason counts); `fail_above` is the share of
    passages that may be lost (1: only a run that keeps nothing fails)."""
    documents, passages, kept = counts.get("in", 0), counts.get("passages", 0), counts.get("passages_kept", 0)
    if documents == 0:
        return None  # nothing in, nothing to keep
    if passages == 0:
        reasons = {k: v for k, v in counts.items() if k.startswith("skipped/") and v}
        top = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
        why = ", ".join(f"{v} {k.split('/', 1)[1].replace('_', ' ')}" for k, v in top) or "no text"
        return f"0 of {documents} documents rephrased: no passage to ask ({why})"
    lost = passages - kept
    if kept > 0 and lost <= fail_above * passages:
        return None
    reasons = {k: v for k, v in counts.items() if k.startswith(("rejected/", "failed/")) and v}
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    parts = ", ".join(_label(k, v, output_limits) for k, v in top)
    head = f"{kept} of {passages} passages kept"
    if kept:
        head += f" ({lost / passages:.0%} lost, more than the {fail_above:.0%} allowed)"
    hint = _hint(top[0][0]) if top else None
    return f"{head}: {parts}" + (f"; {hint}" if hint else "")
