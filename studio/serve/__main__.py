"""python -m studio.serve --model PATH: serve one model over an OpenAI-compatible HTTP API."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from studio.config import serving as limits

from . import API_KEY_ENV


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m studio.serve", description=__doc__)
    parser.add_argument("--model", required=True,
                        help="a run folder, its checkpoint folder, a model folder or a peft adapter folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default=None,
                        help=f"require 'Authorization: Bearer KEY' on /v1 (prefer env {API_KEY_ENV}: argv shows in ps)")
    parser.add_argument("--served-name", default=None, help="model id clients send (default: the folder name)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    parser.add_argument("--backend", choices=["auto", "transformers", "vllm"], default="auto",
                        help="auto: vLLM when a GPU and vllm are available, else transformers")
    parser.add_argument("--max-request-bytes", type=int, default=limits.MAX_REQUEST_BYTES,
                        help="larger request bodies are refused with 413 before they are read")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    from studio.library_noise import silence_library_noise

    silence_library_noise()  # before transformers/peft pull in bitsandbytes, as the engine does

    from studio.config.templates import DEFAULT_CHAT_TEMPLATE

    from . import vllm_launch
    from .generation_defaults import from_run_folder
    from .model_loading import GENERATE, GENERATE_WITH_IMAGES, ModelLoadError, find_model_folder, load, run_folder_of

    try:
        model_dir = find_model_folder(args.model)
        served_name = args.served_name or _default_name(model_dir)
        defaults = from_run_folder(run_folder_of(model_dir))
        if defaults.source:
            print(f"studio.serve: default generation settings from {defaults.source}: {defaults.as_dict()}",
                  flush=True)
        if args.backend != "transformers" and vllm_launch.usable(model_dir, args.device):
            vllm_launch.exec_vllm(model_dir, args.host, args.port, served_name, api_key,
                                  args.device, DEFAULT_CHAT_TEMPLATE, defaults)
        if args.backend == "vllm":
            raise ModelLoadError("--backend vllm: needs the vllm package, a CUDA GPU and a full generation model")
        print(f"studio.serve: loading {model_dir} ...", flush=True)
        loaded = load(model_dir, args.device)
    except ModelLoadError as exc:
        print(f"studio.serve: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None

    import uvicorn

    from .app import create_app
    from .transformers_engine import TransformersClassifier, TransformersGenerator

    if loaded.kind in (GENERATE, GENERATE_WITH_IMAGES):
        engine = TransformersGenerator(loaded, DEFAULT_CHAT_TEMPLATE)
    else:
        engine = TransformersClassifier(loaded)
    app = create_app(engine, served_name, api_key, defaults=defaults, max_body_bytes=args.max_request_bytes)
    print(f"studio.serve: serving '{served_name}' ({loaded.kind}, {loaded.device}) on "
          f"http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


def _default_name(model_dir: Path) -> str:
    # checkpoint/model is the usual folder; its run id two levels up names it better.
    if model_dir.name in ("model", "adapter") and model_dir.parent.name == "checkpoint":
        return model_dir.parent.parent.name
    return model_dir.name


if __name__ == "__main__":
    main()
