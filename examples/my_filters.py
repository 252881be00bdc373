"""Custom filters for `curation`, the two ways a researcher writes them.

Use them in a manifest after importing this module:

    imports: [examples.my_filters]
    stages:
      - stage: no_lorem_ipsum
      - stage: max_url_depth
        max_depth: 4

or by path: `- stage: examples.my_filters:no_lorem_ipsum` (a function given by path must be registered as a
stage, as these are; `os:system` is refused).
"""

from curation import Filter, register_stage


@register_stage
def no_lorem_ipsum(doc) -> bool | str:
    """A plain function: True keeps the document; a string removes it and is the reason counted."""
    return "lorem_ipsum" if "lorem ipsum" in doc.text.lower() else True


@register_stage("max_url_depth")
class MaxUrlDepth(Filter):
    """A class: its constructor arguments become the stage's manifest options, checked against the type hints.

    Args:
        max_depth: most path segments a URL may have
    """

    name = "📏 URL depth"

    def __init__(self, max_depth: int = 6):
        super().__init__()
        self.max_depth = max_depth

    def filter(self, doc):
        url = doc.metadata.get("url") or ""
        path = url.split("://", 1)[-1].split("?", 1)[0]
        depth = max(path.count("/") - 1, 0) if "/" in path else 0
        return True if depth <= self.max_depth else "url_too_deep"
