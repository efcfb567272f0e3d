"""python -m studio.serve --model PATH: serve one model over an OpenAI-compatible HTTP API."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import API_KEY_ENV


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m studio.serve", description=__doc__)
    parser.add_argument("--model", required=True, help="model folder (checkpoint/model) or peft adapter folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default=None,
                        help=f"require 'Authorization: Bearer KEY' on /v1 (prefer env {API_KEY_ENV}: argv shows in ps)")
    parser.add_argument("--served-name", default=None, help="model id clients send (default: the folder name)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    parser.add_argument("--backend", choices=["auto", "transformers", "vllm"], default="auto",
                        help="auto: vLLM when a GPU and vllm are available, else transformers")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    model_dir = Path(args.model).expanduser().resolve()
    served_name = args.served_name or _default_name(model_dir)

    from studio.config.templates import DEFAULT_CHAT_TEMPLATE

    from . import vllm_launch
    from .model_loading import GENERATE, ModelLoadError, load

    try:
        if args.backend != "transformers" and vllm_launch.usable(model_dir, args.device):
            vllm_launch.exec_vllm(model_dir, args.host, args.port, served_name, api_key,
                                  args.device, DEFAULT_CHAT_TEMPLATE)
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

    if loaded.kind == GENERATE:
        engine = TransformersGenerator(loaded, DEFAULT_CHAT_TEMPLATE)
    else:
        engine = TransformersClassifier(loaded)
    app = create_app(engine, served_name, api_key)
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
