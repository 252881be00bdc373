"""The built-in stages, registered by name (imported lazily, so `curate --help` stays fast).

Readers are not stages of the manifest's `stages:` list; the `input:` section picks one.
"""

from curation.core import register_lazy

BUILTIN = {
    "extract": "curation.io.extract:Extract",
    "url_filter": "filters.url:UrlFilter",
    "langid": "langid.fasttext_lid:LanguageId",
    "dedup": "dedup.stage:MinhashDedup",
    "exact_dedup": "dedup.stage:ExactDedup",
    "quality": "filters.quality:QualityFilter",
    "kenlm": "filters.kenlm_filter:KenlmPerplexity",
    "precision": "filters.precision:PrecisionFilter",
    "format": "filters.formatting:Format",
    "rephrase": "rephrase.stage:Rephrase",
    "write": "curation.io.writer:ParquetOutput",
}

for _name, _path in BUILTIN.items():
    register_lazy(_name, _path)
