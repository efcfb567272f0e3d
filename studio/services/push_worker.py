"""Upload one run's model to the Hugging Face Hub, in its own process.

``python -m studio.services.push_worker --run-dir R --repo-id ns/name [--what merged|adapter]``
reads the token from env HF_TOKEN (never argv) and prints one JSON object per line on stdout:
``{"progress": 0.4, "message": "..."}``, then ``{"done": true, "url": ...}`` or ``{"error": "..."}``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .model_card import build_model_card

# Files a tokenizer or processor may be saved as; copied from the merged model when an adapter lacks them.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json",
                   "preprocessor_config.json", "processor_config.json")


class PushError(RuntimeError):
    """The push cannot go on; the message says why (and never holds the token)."""


def files_to_upload(run_dir: Path, what: str) -> dict[str, Path]:
    """{path in repo: local file} for the merged model or the adapter, with the tokenizer."""
    model_dir = run_dir / "checkpoint" / "model"
    source = run_dir / "checkpoint" / ("adapter" if what == "adapter" else "model")
    if not source.is_dir():
        hint = " (only lora/qlora runs save an adapter)" if what == "adapter" else ""
        raise PushError(f"{source} does not exist{hint}; nothing to push")
    files = {str(p.relative_to(source)): p for p in sorted(source.rglob("*")) if p.is_file()}
    for name in TOKENIZER_FILES:
        if name not in files and (model_dir / name).is_file():
            files[name] = model_dir / name
    files.pop("README.md", None)  # replaced by the generated model card
    return files


def push(run_dir: Path, repo_id: str, token: str, what: str, private: bool, dataset_name: str | None,
         emit) -> str:
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    files = files_to_upload(run_dir, what)
    card = build_model_card(run_dir, repo_id, what, dataset_name)
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    emit(0.05, f"creating repository {repo_id}")
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        total = sum(p.stat().st_size for p in files.values())
        emit(0.2, f"uploading {len(files) + 1} files ({total / 1e6:.1f} MB)")
        operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in files.items()]
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
        api.create_commit(repo_id, operations, commit_message=f"Upload {what} model from Studio run {run_dir.name}")
    except HfHubHTTPError as exc:
        raise PushError(_explain(exc, repo_id)) from None
    emit(1.0, f"pushed to {url}")
    return str(url)


def _explain(exc, repo_id: str) -> str:
    status = getattr(exc.response, "status_code", None)
    if status == 401:
        return "the Hugging Face token was rejected (401); set a valid token with write access in Settings"
    if status == 403:
        return (f"you cannot create or write to {repo_id} (403): the namespace '{repo_id.split('/')[0]}' is "
                "not yours, the repository belongs to someone else, or the token has no write access; "
                "choose a repository id under your own user or organization")
    if status == 409:
        return f"the repository name {repo_id} conflicts with an existing repository; choose another name"
    return f"the Hub refused the push ({status}): {str(exc).splitlines()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.services.push_worker", description=__doc__)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--repo-id", required=True)
    parser.add_argument("--what", choices=["merged", "adapter"], default="merged")
    parser.add_argument("--public", action="store_true", help="create the repository public (default private)")
    parser.add_argument("--dataset-name", default=None)
    args = parser.parse_args(argv)
    token = os.environ.get("HF_TOKEN") or ""

    def emit(fraction: float, message: str) -> None:
        print(json.dumps({"progress": fraction, "message": _scrub(message, token)}), flush=True)

    try:
        if not token:
            raise PushError("no Hugging Face token: set one in Settings or in the HF_TOKEN environment variable")
        url = push(Path(args.run_dir), args.repo_id, token, args.what, not args.public, args.dataset_name, emit)
    except PushError as exc:
        print(json.dumps({"error": _scrub(str(exc), token)}), flush=True)
        return 1
    except Exception as exc:  # anything unexpected still reaches the user, scrubbed
        print(json.dumps({"error": _scrub(f"{type(exc).__name__}: {exc}", token)}), flush=True)
        return 1
    print(json.dumps({"done": True, "url": url}), flush=True)
    return 0


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


if __name__ == "__main__":
    sys.exit(main())
