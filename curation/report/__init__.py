"""The run report: data gathered from a run folder, the HTML page and its SVG charts."""
