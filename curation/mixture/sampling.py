"""Language sampling: each language's budget (in documents or tokens) from the size of its rehydrated data.

- proportional: budget_l = total * n_l / sum(n) (without a total: every language once);
- temperature: budget_l = total * n_l^alpha / sum(n^alpha) (alpha < 1 lifts small languages);
- unimax (Chung et al. 2023): the total split evenly, smallest language first; a language that cannot fill its
  share within `epoch_cap` passes takes cap * n_l and leaves the rest to the others;
- weights: budget_l = total * w_l (the shares given).
Every budget is then capped at `epoch_cap` passes over the language's data, with a warning that says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Allocation:
    target: float  # what the rule asked for
    budget: float  # after the epoch cap
    epochs: float  # budget / size

    @property
    def capped(self) -> bool:
        return self.budget < self.target - 1e-9


def unimax(sizes: dict[str, float], total: float, cap: float) -> dict[str, float]:
    """Each language's even share of what is left when its turn comes (smallest first); what a capped
    language cannot take goes to the larger ones."""
    shares, left = {}, total
    order = sorted(sizes, key=lambda lang: (sizes[lang], lang))
    for i, lang in enumerate(order):
        shares[lang] = left / (len(order) - i)
        left -= min(shares[lang], cap * sizes[lang])
    return shares


def targets(sizes: dict[str, float], strategy: str, total: float | None = None, alpha: float = 0.3,
            weights: dict[str, float] | None = None, cap: float = 4.0) -> dict[str, float]:
    """The budget each language is asked for, before the epoch cap."""
    live = {k: v for k, v in sizes.items() if v > 0}
    if strategy == "proportional":
        if total is None:
            return dict(sizes)
        s = sum(live.values())
        return {k: total * v / s if s else 0.0 for k, v in sizes.items()}
    if strategy == "temperature":
        z = sum(v ** alpha for v in live.values())
        return {k: total * v ** alpha / z if v > 0 else 0.0 for k, v in sizes.items()}
    if strategy == "unimax":
        b = unimax(live, total, cap)
        return {k: b.get(k, 0.0) for k in sizes}
    if strategy == "weights":
        return {k: total * weights.get(k, 0.0) if total is not None else None for k in sizes}
    raise ValueError(f"unknown sampling strategy '{strategy}'")


def allocate(sizes: dict[str, float], strategy: str, total: float | None = None, alpha: float = 0.3,
             weights: dict[str, float] | None = None, cap: float = 4.0, unit: str = "documents"
             ) -> tuple[dict[str, Allocation], list[str]]:
    """Budgets after the epoch cap, and a warning for every language the cap (or missing data) cut."""
    warnings = []
    if strategy == "weights":
        missing = sorted(set(weights) - set(sizes))
        if missing:
            warnings.append(f"weights name languages with no data in the input: {', '.join(missing)} "
                            f"(their share, {sum(weights[m] for m in missing):.3g}, is not filled)")
        if total is None:  # the largest total that repeats no language: its scarcest language gets one pass
            total = min((sizes[k] / w for k, w in weights.items() if w > 0 and sizes.get(k)), default=0.0)
    asked = targets(sizes, strategy, total, alpha, weights, cap)
    out = {}
    for lang, n in sizes.items():
        t = asked.get(lang) or 0.0
        b = min(t, cap * n)
        out[lang] = Allocation(t, b, b / n if n else 0.0)
        if t > 0 and n == 0:
            warnings.append(f"{lang}: no data, so its budget of {t:,.0f} {unit} is not filled")
        elif out[lang].capped:
            warnings.append(f"{lang}: asked for {t:,.0f} {unit} = {t / n:.2f} epochs of its {n:,.0f}; capped at "
                            f"{cap:g} epochs ({b:,.0f} {unit}, {t - b:,.0f} short)")
    return out, warnings
