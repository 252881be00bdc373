"""Demo data: the UDHR, the demo crawl (sites, pages, WARC writing), reference and language-ID sets.

`python -m curation.demo` builds the demo crawl (see curation/demo/build.py).
"""
