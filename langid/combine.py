"""Several language detectors as one: a cascade that asks a second opinion only when the first is unsure.

The first model (the primary: the real-text model, ~520 labels) and the second (CLD2: fast, strong on
native web text in the ~160 languages it knows) label every text. When they agree, that is the answer and
the primary's probability its score. When they disagree (close neighbours: ast/arg/glg/spa, hrv/srp/bos,
zsm/ind, nob/nno ...), the others (lid.176) are asked too, and each detector votes
for its own top label with the trust it earned for that label at that score (`trust.json`: how often it was
right, on tuning text none of the models trained on: FLORES-200 dev, a Tatoeba slice, MasakhaNEWS dev). A
detector does not vote when the primary is fairly sure (>= `SKIP_CONF`) of a label that detector cannot
output: it could only name its nearest known language (each model is trusted on the labels it knows). The
label with most trust wins; its score is its share of the trust, so the combination's `language_score` is
its own and has its own thresholds (`langid/score_thresholds/<model_id>.yml`).

Before the vote, an answer whose script the text does not have is dropped (`langid.rules.script_fits`); a
disagreement seen often enough on tuning text (the same (primary, second, third-sides-with) triple, `pairs`
in `trust.json`) is settled by what was right there, the tuning sets weighing alike, lingua's tuning half of
native sentences among them; and the answer `yue_Hani` must be Traditional Chinese or carry a Cantonese-only
character (`langid.rules.cantonese_possible`).

Each detector reads the first `MAX_CHARS` characters. Cost per text: one fastText call and one CLD2 call
(about a quarter of a fastText call), plus lid.176 on the
texts where the two disagree (benchmarks/langid.py measures it against lid.176 alone).
"""

from __future__ import annotations

import json
from pathlib import Path

from curation.core import CurationError
from langid.labels import canonical_label, dominant_script
from langid.rules import cantonese_possible, script_fits

# close neighbours (reported apart by benchmarks/langid.py: where detectors confuse each other most)
NEIGHBOURS: tuple[frozenset[str], ...] = tuple(frozenset(canonical_label(x) for x in g) for g in (
    ("ast_Latn", "arg_Latn", "glg_Latn", "spa_Latn", "por_Latn", "cat_Latn", "oci_Latn"),
    ("hrv_Latn", "srp_Latn", "bos_Latn", "cnr_Latn", "slv_Latn"),
    ("zsm_Latn", "ind_Latn", "min_Latn", "jav_Latn"),
    ("nob_Latn", "nno_Latn", "dan_Latn", "swe_Latn"),
    ("ces_Latn", "slk_Latn"),
    ("bel_Cyrl", "rus_Cyrl", "ukr_Cyrl"),
    ("bul_Cyrl", "mkd_Cyrl"),
    ("fas_Arab", "prs_Arab", "tgk_Arab"),
    ("urd_Arab", "pnb_Arab", "snd_Arab"),
    ("hin_Deva", "mar_Deva", "npi_Deva", "mai_Deva", "bho_Deva", "awa_Deva", "mag_Deva", "hne_Deva", "san_Deva"),
    ("arb_Arab", "arz_Arab", "ary_Arab", "apc_Arab", "acm_Arab", "aeb_Arab", "ars_Arab", "acq_Arab", "ajp_Arab"),
    ("afr_Latn", "nld_Latn", "ltz_Latn", "lim_Latn"),
    ("fil_Latn", "ceb_Latn", "war_Latn"),
))
NEIGHBOUR_OF = {lab: g for g in NEIGHBOURS for lab in g}
TRUST_FILE = Path(__file__).parent / "score_thresholds" / "trust.json"
# Chosen on the tuning sets only (FLORES-200 dev + Tatoeba's tune slice, best mean macro-F1 of a 3x3x3 grid;
# the test sets' numbers moved by under 0.01 across the grid, except UDHR and lingua's word pairs):
PRIOR, STRENGTH = 0.6, 1.0  # trust of a (label, score bin) never seen in tuning, and how many documents it weighs
# the primary at least this sure of a label another detector lacks: that one does not vote. 0.1 since curlid
# trains on 1-3-word windows too (flatter probabilities); 0.1 and 0.2 tied on the tuning sets (0.3 was 0.002 lower)
SKIP_CONF = 0.1
MAX_CHARS = 1000  # the combination reads a document's first 1,000 characters (sentences whole)
# a disagreement triple seen on at least this much (weighted) tuning text is settled by its record there
# (3, 10 and 30 measured; 3 best on every held-out set, lingua's held-out half included)
PAIR_MIN = 3.0
PAIR_SET_SIZE = 10000  # every tuning set weighs as if it held this many documents
UNDETERMINED = "und_Zyyy"


def score_bin(score: float) -> int:
    """Five bins of the score: a detector's 0.95 is trusted more than its 0.3 for the same label."""
    return min(int(score * 5), 4)


def build_detector(spec: str, model_id: str | None = None):
    """A detector from a name or path: `lid176`, `curlid`, `cld2`, `lingua`, a fastText model path, or
    several joined by `+` (`curlid+cld2+lid176`): a `Cascade` whose primary is the first."""
    from langid.detectors import Cld2Detector, FastTextDetector, LinguaDetector
    from langid.loading import resolve_model

    parts = [p.strip() for p in spec.split("+") if p.strip()]
    if not parts:
        raise CurationError("language-ID model: empty name")
    if len(parts) > 1:
        return Cascade([build_detector(p) for p in parts], model_id=model_id)
    name = parts[0]
    if name.lower() == "cld2":
        return Cld2Detector()
    if name.lower() == "lingua":
        return LinguaDetector()
    return FastTextDetector(resolve_model(name), model_id=model_id)


def _read_trust_file(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        body["trust"]
        return body
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CurationError(f"{path}: cannot read the trust table ({e})") from None


def load_trust(path: Path = TRUST_FILE) -> dict[str, dict[str, list[int]]]:
    """{model_id: {"label/bin": [right, predicted]}}: how often each detector was right when it gave each
    label with a score in each bin, on tuning text none of the models trained on (`fit_trust`)."""
    return _read_trust_file(path).get("trust", {})


def load_pairs(path: Path = TRUST_FILE) -> dict[str, dict[str, list[float]]]:
    """{combination id: {"a|b|side": [a right, b right]}} (`fit_pairs`); {} for a file without them."""
    return _read_trust_file(path).get("pairs", {})


def pair_key(votes: list[tuple[str, float]]) -> str:
    """`primary|second|side`: side `a`/`b` when the third detector says the primary's/second's label, else `o`."""
    a, b = votes[0][0], votes[1][0]
    c = votes[2][0] if len(votes) > 2 else None
    return f"{a}|{b}|{'a' if c == a else 'b' if c == b else 'o'}"


def fit_pairs(sets: list[tuple[list[list[tuple[str, float]]], list[str]]]) -> dict[str, list[float]]:
    """The disagreement table from several tuning sets: each `(per-detector predictions, gold)`, each set
    weighing alike (as if it held `PAIR_SET_SIZE` documents), so a large set cannot outvote a small one. Per
    `pair_key` of a disagreement: how much weight the primary's and the second's label were right on; only
    triples seen on `PAIR_MIN` weight or more are kept."""
    table: dict[str, list[float]] = {}
    for preds, gold in sets:
        w = PAIR_SET_SIZE / max(len(gold), 1)
        for i, g in enumerate(gold):
            votes = [p[i] for p in preds]
            a, b = votes[0][0], votes[1][0]
            if a == b or b.startswith("und_"):
                continue
            cell = table.setdefault(pair_key(votes), [0.0, 0.0])
            cell[0] += w * (g == a)
            cell[1] += w * (g == b)
    return {k: [round(x, 3) for x in v] for k, v in sorted(table.items()) if sum(v) >= PAIR_MIN and v[0] != v[1]}


def fit_trust(predictions: dict[str, list[tuple[str, float]]], gold: list[str]) -> dict[str, dict[str, list[int]]]:
    """The trust table from each detector's predictions (model_id -> [(label, score)]) on labelled text."""
    out: dict[str, dict[str, list[int]]] = {}
    for mid, preds in predictions.items():
        table = out.setdefault(mid, {})
        for g, (lab, sc) in zip(gold, preds):
            cell = table.setdefault(f"{lab}/{score_bin(sc)}", [0, 0])
            cell[0] += g == lab
            cell[1] += 1
    return out


class Cascade:
    """The first two detectors label every text (the second should be cheap: CLD2); when they disagree the
    others are asked too and the trusted vote decides (see the module doc)."""

    kind = "cascade"

    def __init__(self, detectors: list, trust: dict | None = None, model_id: str | None = None,
                 skip_conf: float = SKIP_CONF, pairs: dict | None = None):
        if len(detectors) < 2:
            raise CurationError("a combination needs at least two detectors")
        self.detectors = detectors
        self.trust = load_trust() if trust is None else trust
        self.model_id = model_id or "+".join(d.model_id for d in detectors)
        self.pairs = load_pairs().get(self.model_id, {}) if pairs is None else pairs
        self.skip_conf = skip_conf
        self._known = [d.known_labels() for d in detectors]
        self.asked = 0  # texts that needed the other detectors
        self.seen = 0

    def known_labels(self) -> set[str]:
        return set().union(*self._known)

    def _sure_of_unknown(self, first: tuple[str, float], i: int) -> bool:
        """Whether detector i's vote does not count against the primary's answer `first`."""
        return first[0] not in self._known[i] and first[1] >= self.skip_conf

    def weight(self, i: int, label: str, score: float) -> float:
        right, n = self.trust.get(self.detectors[i].model_id, {}).get(f"{label}/{score_bin(score)}", (0, 0))
        return (right + PRIOR * STRENGTH) / (n + STRENGTH)

    def settle(self, votes: list[tuple[str, float]], text: str = "") -> tuple[str, float]:
        """A disagreement: answers in a script the text lacks drop out; a triple with a record on tuning text
        (`pairs`) goes to the label that was right there (score: its share of that record); else the vote."""
        script = dominant_script(text) if text else "Zyyy"
        kept = [v if script_fits(v[0], script) else (UNDETERMINED, 0.0) for v in votes]
        if kept[0][0] == UNDETERMINED and kept[1][0] != UNDETERMINED:
            return kept[1]
        cell = self.pairs.get(pair_key(votes)) if kept[0] == votes[0] and kept[1] == votes[1] else None
        if cell:
            right_a, right_b = cell
            return (votes[0][0], round(right_a / (right_a + right_b), 4)) if right_a > right_b else \
                (votes[1][0], round(right_b / (right_a + right_b), 4))
        best = self.decide(kept)
        return votes[0] if best[0] == UNDETERMINED else best

    def decide(self, votes: list[tuple[str, float]]) -> tuple[str, float]:
        """votes: (label, score) of each detector, in order. Trusted sum; ties go to the primary."""
        first, first_score = votes[0]
        tally: dict[str, float] = {}
        total = 0.0
        for i, (label, score) in enumerate(votes):
            if label.startswith("und_"):
                continue
            if i and self._sure_of_unknown(votes[0], i):
                continue  # it cannot say `first`: its answer would only be its nearest known language
            w = self.weight(i, label, score)
            tally[label] = tally.get(label, 0.0) + w
            total += w
        if not tally:
            return first, first_score
        best = max(tally, key=lambda lab: (tally[lab], lab == first))
        return best, round(tally[best] / total, 4)

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        texts = [t[:MAX_CHARS] for t in texts]
        first = self.detectors[0].predict_many(texts)
        if hasattr(self.detectors[1], "predict_many_coded"):  # CLD2: its code tells Simplified from Traditional
            coded = self.detectors[1].predict_many_coded(texts)
            second, codes = [c[:2] for c in coded], [c[2] for c in coded]
        else:
            second, codes = self.detectors[1].predict_many(texts), [""] * len(texts)
        out = []
        idx = []
        for i, (a, b) in enumerate(zip(first, second)):
            if a[0] == b[0] or b[0].startswith("und_") or self._sure_of_unknown(a, 1):
                out.append(a)  # agreement, no answer, or a label the second cannot output: the primary's
            else:
                out.append(None)
                idx.append(i)
        self.seen += len(texts)
        self.asked += len(idx)
        if idx:
            sub = [texts[i] for i in idx]
            rest = [d.predict_many(sub) for d in self.detectors[2:]]
            for j, i in enumerate(idx):
                out[i] = self.settle([first[i], second[i]] + [r[j] for r in rest], texts[i])
        for i, (label, score) in enumerate(out):
            if label == "yue_Hani" and not cantonese_possible(texts[i], codes[i]):
                out[i] = ("cmn_Hani", score)
        return out
