"""Build and run a pipeline in Python, with a custom filter, on the demo crawl.

    python examples/custom_pipeline.py [WARC] [OUT]
"""

import sys

from my_filters import MaxUrlDepth, no_lorem_ipsum  # examples/ is on sys.path when run as a script

from curation import Pipeline

if __name__ == "__main__":  # datatrove's executor starts worker processes
    warc = sys.argv[1] if len(sys.argv) > 1 else "data/demo/crawl.warc.gz"
    out = sys.argv[2] if len(sys.argv) > 2 else "out/custom"
    summary = (
        Pipeline.read(warc)
        .stage("extract", engine="resiliparse")
        .stage(no_lorem_ipsum)
        .stage(MaxUrlDepth, max_depth=3)
        .stage("langid", min_score=0.5)
        .stage("quality")
        .write(out)
        .run(overwrite=True)
    )
    print(f"{summary['documents_written']} documents in {summary['languages_written']} languages -> {out}")
