"""Rehydration, language sampling and mixture output (`curate mix`), and Hub publishing (`curate publish`)."""

from curation.mixture.spec import MixtureSpec

__all__ = ["MixtureSpec", "build_mixture"]


def __getattr__(name):  # the builder pulls in pyarrow and tqdm: only when used
    if name == "build_mixture":
        from curation.mixture.build import build_mixture

        return build_mixture
    raise AttributeError(name)
