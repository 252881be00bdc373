"""`curate publish`: upload a dataset folder (a mixture, or any folder with a dataset card) to the Hugging Face
Hub with huggingface_hub's resumable large-folder upload.

The token comes from the environment (HF_TOKEN) or `hf auth login`, read by huggingface_hub itself: this
module never reads, prints or writes it. `--dry-run` checks the folder and the card and lists what would go up."""

from __future__ import annotations

import fnmatch
import glob
import json
import re
from pathlib import Path

import pyarrow.parquet as pq

from curation.core import CurationError
from curation.mixture.card import read_card_metadata

IGNORE = [".building/**", "**/*.tmp", ".cache/**", "**/.DS_Store"]
REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


def _ignored(rel: str) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.removeprefix("**/")) for p in IGNORE)


def check_dataset(folder: str) -> list[tuple[str, int]]:
    """The files that would be uploaded (relative path, bytes); raises with every problem found in the folder,
    its card (README.md metadata and configs) and, for a mixture, mixture.json."""
    root = Path(folder)
    if not root.is_dir():
        raise CurationError(f"{folder}: folder not found")
    problems = []
    if (root / ".building").exists():
        problems.append(f"{folder}/.building: an unfinished `curate mix` build; finish it (run it again) first")
    files = sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*")
                   if p.is_file() and not _ignored(p.relative_to(root).as_posix()))
    card = root / "README.md"
    if not card.is_file():
        problems.append(f"{folder}: no README.md (the dataset card)")
    else:
        try:
            meta = read_card_metadata(card)
        except Exception as e:  # yaml errors and an unclosed block
            meta = {}
            problems.append(f"{card}: metadata block is not valid YAML ({e})")
        configs = meta.get("configs")
        if not configs:
            problems.append(f"{card}: no `configs:` in the metadata (datasets and the Hub viewer need it)")
        names = set()
        for i, c in enumerate(configs or []):
            name = c.get("config_name") if isinstance(c, dict) else None
            if not name:
                problems.append(f"{card}: configs[{i}] has no config_name")
                continue
            if name in names:
                problems.append(f"{card}: config '{name}' is given twice")
            names.add(name)
            for df in c.get("data_files") or []:
                pattern = df.get("path") if isinstance(df, dict) else df
                for pat in [pattern] if isinstance(pattern, str) else (pattern or []):
                    if not glob.glob(str(root / pat)):
                        problems.append(f"{card}: config '{name}': data_files '{pat}' matches no file")
            if not c.get("data_files"):
                problems.append(f"{card}: config '{name}' has no data_files")
    mix = root / "mixture.json"
    if mix.is_file():
        summary = json.loads(mix.read_text(encoding="utf-8"))
        for lang, v in summary.get("languages", {}).items():
            for f in v.get("files", []):
                path = root / f["file"]
                if not path.is_file():
                    problems.append(f"{mix}: {f['file']} is missing")
                elif pq.read_metadata(path).num_rows != f["rows"]:
                    problems.append(f"{path}: {pq.read_metadata(path).num_rows} rows, mixture.json says {f['rows']}")
    if problems:
        raise CurationError("\n".join(problems))
    return files


def publish(folder: str, repo: str, private: bool = False, dry_run: bool = False, log=print) -> list[tuple[str, int]]:
    if not REPO.match(repo):
        raise CurationError(f"--repo '{repo}': expected 'owner/name' (letters, digits, '-', '_', '.')")
    files = check_dataset(folder)
    total = sum(n for _, n in files)
    if dry_run:
        from huggingface_hub import get_token

        log(f"dry run: would upload {len(files)} files ({total / 2**20:.1f} MiB) from {folder} to the "
            f"{'private' if private else 'public'} dataset repo {repo}")
        for rel, n in files:
            log(f"  {rel}  ({n:,} bytes)")
        log("card: README.md metadata and configs check out")
        log("token: " + ("found (HF_TOKEN or hf auth login)" if get_token() else
                         "none found: set HF_TOKEN or run `hf auth login` before uploading"))
        return files
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        url = api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        if hasattr(api, "upload_large_folder"):  # huggingface_hub < 2: the resumable uploader has its own name
            api.upload_large_folder(repo_id=repo, folder_path=folder, repo_type="dataset", private=private,
                                    ignore_patterns=IGNORE)
        else:  # >= 2: upload_folder resumes and splits large folders into several commits itself
            api.upload_folder(repo_id=repo, folder_path=folder, repo_type="dataset", ignore_patterns=IGNORE,
                              commit_message=f"Upload {Path(folder).name} with curate publish")
    except Exception as e:  # network and Hub errors: their messages never hold the token
        raise CurationError(f"publishing {folder} to {repo} failed: {type(e).__name__}: {e}\n"
                            "run the same command again to resume") from None
    log(f"uploaded {len(files)} files ({total / 2**20:.1f} MiB) to {url}")
    return files
