"""The built-in stages: manifest name -> "module:Class", imported when first used (so `curate --help` stays
fast). curation.core registers them; a third-party package adds its own through the `curation.stages`
entry-point group instead of editing this table.

Readers are not stages of the manifest's `stages:` list; the `input:` section picks one.
"""

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
