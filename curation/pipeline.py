"""`Pipeline`: the manifest's model built in Python, with the same validation and the same runner."""

from __future__ import annotations

from typing import Any

from curation.core import register_stage
from curation.manifest import Manifest, parse_manifest


class Pipeline:
    """Few composable verbs: `read`, `stage`, `keep_languages`, `write`, `executor`, then `run` or `steps`.

    `stage()` takes a registered name, a `module:function` path, a filter function or a step class.
    """

    def __init__(self):
        self._spec: dict[str, Any] = {"stages": []}

    @classmethod
    def read(cls, paths: str | list[str], format: str | None = None, **options) -> "Pipeline":
        p = cls()
        p._spec["input"] = {"paths": [paths] if isinstance(paths, str) else list(paths), "format": format, **options}
        return p

    def stage(self, name_or_obj, **options) -> "Pipeline":
        if not isinstance(name_or_obj, str):
            name = f"{getattr(name_or_obj, '__module__', 'custom')}:{name_or_obj.__name__}"
            register_stage(name_or_obj, name=name)
            name_or_obj = name
        self._spec["stages"].append({"stage": name_or_obj, **options})
        return self

    def keep_languages(self, *languages: str) -> "Pipeline":
        self._spec["languages"] = list(languages)
        return self

    def executor(self, tasks: int = 1, workers: int = -1) -> "Pipeline":
        self._spec["executor"] = {"kind": "local", "tasks": tasks, "workers": workers}
        return self

    def write(self, output: str, **options) -> "Pipeline":
        self._spec["output"] = {"path": output, **options}
        return self

    def manifest(self) -> Manifest:
        import yaml

        spec = dict(self._spec)
        if not any(s["stage"] == "write" for s in spec["stages"]) and "output" in spec:
            spec["stages"] = [*spec["stages"], {"stage": "write"}]
        return parse_manifest(yaml.safe_dump(spec, sort_keys=False), source="<Pipeline>")

    def steps(self):
        """The datatrove steps, to hand to any datatrove executor yourself."""
        from curation.run.runner import compile_pipeline

        return compile_pipeline(self.manifest(), progress=False)

    def run(self, overwrite: bool = False, progress: bool = True) -> dict:
        from curation.run.runner import run_manifest

        return run_manifest(self.manifest(), overwrite=overwrite, progress=progress)
