"""`bias-inheritance`: one CLI whose subcommands follow the stages data flows through.

    model path            prepare the embedded model, print its folder
    data prepare FAMILY   write canonical data into the cache
    generate              biased augmentation D_a            (generators)
    mix                   D = D_o ∪ D_a at bias ratio γ       (generators)
    train                 LoRA SFT on the mix                (trainers)
    tasks-path            folder for lm-eval's --include_path (bias_tasks)
    evaluate              run lm-eval tasks, keep provenance (bias_tasks)
    leaderboard           results JSON -> Markdown and CSV   (leaderboard)
    quickstart            the whole path on embedded defaults
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from bias_inheritance.errors import UserError


def _cmd_model_path(args: argparse.Namespace) -> None:
    from bias_inheritance.model import resolve_model

    print(resolve_model(args.model))


def _cmd_data_prepare(args: argparse.Namespace) -> None:
    from bias_inheritance.data import gender

    if args.family == "gender":
        source = gender.prepare_gender(from_dir=args.from_dir, sample=args.sample, seed=args.seed)
        print(f"gender data ready in {gender.gender_dir()} from {source.label}: {source.rows}")
    elif args.family == "culture":
        from bias_inheritance.data import culture

        prepared = culture.prepare_culture(from_dir=args.from_dir, sample=args.sample)
        rows = sum(record["rows"] for record in prepared.datasets.values())
        print(f"culture data ready in {culture.culture_dir()} from {prepared.label}: "
              f"{len(prepared.datasets)} datasets, {rows} rows; not prepared: {', '.join(prepared.missing) or 'none'}")


def _cmd_tasks_path(args: argparse.Namespace) -> None:
    from bias_tasks import tasks_path

    print(tasks_path())


def _cmd_generate(args: argparse.Namespace) -> None:
    from generators.augment import GenerationSettings, generate_gender_augmentation

    settings = GenerationSettings(
        bias_type=args.bias_type,
        count=args.count,
        model=args.model,
        seed=args.seed,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
    )
    rows = generate_gender_augmentation(settings, Path(args.out))
    print(f"{len(rows)} augmented rows in {args.out}")


def _cmd_mix(args: argparse.Namespace) -> None:
    from bias_inheritance.data import gender
    from bias_inheritance.io import read_jsonl
    from generators.mixing import mix_and_write

    if args.original:
        original, source = read_jsonl(Path(args.original)), {"kind": "file", "location": str(Path(args.original).resolve())}
    else:
        original, source = gender.load_split("train"), gender.load_gender_source_dict()
    result = mix_and_write(
        original, read_jsonl(Path(args.augmented)), args.gamma, args.total, args.seed, Path(args.out), source
    )
    print(f"{len(result.rows)} rows (γ={args.gamma}) in {args.out}; sha256 {result.content_sha256}")


def _cmd_train(args: argparse.Namespace) -> None:
    from trainers.config import TrainSettings
    from trainers.train import train_lora

    settings = TrainSettings.from_yaml(Path(args.config)) if args.config else TrainSettings()
    card = train_lora(args.model, Path(args.data), Path(args.out), settings)
    print(f"adapter and run card in {args.out} (data sha256 {card['data']['sha256']})")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from evaluation.evaluate import evaluate_model

    out = evaluate_model(
        args.model, args.tasks.split(","), Path(args.out), adapter=args.adapter, limit=args.limit,
        batch_size=args.batch_size, device=args.device, metadata=_json_object(args.metadata, "--metadata"),
        apply_chat_template=args.apply_chat_template,
    )
    print(f"results in {out}")


def _json_object(text: str | None, flag: str) -> dict | None:
    import json

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{flag} is not valid JSON ({exc.msg}).", f"""pass an object, e.g. {flag} '{{"persona": true}}'.""") from None
    if not isinstance(value, dict):
        raise UserError(f"{flag} must be a JSON object.", f"""pass an object, e.g. {flag} '{{"persona": true}}'.""")
    return value


def _cmd_leaderboard(args: argparse.Namespace) -> None:
    from leaderboard.build import build_leaderboard

    written = build_leaderboard([Path(p) for p in args.results], Path(args.out), base=args.base)
    for path in written:
        print(path)


def _cmd_quickstart(args: argparse.Namespace) -> None:
    from pipeline.run import PipelineConfig, run_pipeline

    config = PipelineConfig.from_yaml(Path(args.config)) if args.config else PipelineConfig.quickstart()
    run_pipeline(config, Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bias-inheritance", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    model = sub.add_parser("model", help="embedded model").add_subparsers(dest="model_command", required=True)
    path = model.add_parser("path", help="prepare the model if needed and print its folder")
    path.add_argument("--model", default="embedded", help="embedded (default), a folder or a hub id")
    path.set_defaults(func=_cmd_model_path)

    data = sub.add_parser("data", help="data preparation").add_subparsers(dest="data_command", required=True)
    prepare = data.add_parser("prepare", help="write canonical data into the cache")
    prepare.add_argument("family", choices=["gender", "culture"])
    source = prepare.add_mutually_exclusive_group()
    source.add_argument("--from-dir", type=Path, help="read a local copy instead of the hub")
    source.add_argument("--sample", action="store_true", help="install the bundled synthetic sample")
    prepare.add_argument("--seed", type=int, default=0)
    prepare.set_defaults(func=_cmd_data_prepare)

    sub.add_parser("tasks-path", help="print the folder for lm-eval --include_path").set_defaults(func=_cmd_tasks_path)

    gen = sub.add_parser("generate", help="generate the biased augmentation set D_a")
    gen.add_argument("--bias-type", required=True, help="number (0-6) or name, e.g. 4 or contrastive_single_explicit")
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--model", default="embedded")
    gen.add_argument("--out", required=True, help="JSON-lines file; an existing one is resumed")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--batch-size", type=int, default=8)
    gen.add_argument("--max-new-tokens", type=int, default=160)
    gen.add_argument("--temperature", type=float, default=0.7)
    gen.set_defaults(func=_cmd_generate)

    mix = sub.add_parser("mix", help="mix D_o and D_a at bias ratio γ with |D| fixed")
    mix.add_argument("--augmented", required=True)
    mix.add_argument("--original", help="D_o JSON-lines (default: prepared gender train split)")
    mix.add_argument("--gamma", type=float, required=True)
    mix.add_argument("--total", type=int, help="|D| (default: |D_o|)")
    mix.add_argument("--seed", type=int, default=0)
    mix.add_argument("--out", required=True)
    mix.set_defaults(func=_cmd_mix)

    train = sub.add_parser("train", help="LoRA SFT on a mixed set")
    train.add_argument("--data", required=True, help="mixed JSON-lines from `mix`")
    train.add_argument("--model", default="embedded")
    train.add_argument("--config", help="YAML of TrainSettings fields")
    train.add_argument("--out", required=True)
    train.set_defaults(func=_cmd_train)

    ev = sub.add_parser("evaluate", help="run bias_inheritance tasks through lm-eval")
    ev.add_argument("--model", default="embedded")
    ev.add_argument("--adapter", help="LoRA adapter folder from `train`")
    ev.add_argument("--tasks", default="bias_inheritance_gender_bios")
    ev.add_argument("--limit", type=float)
    ev.add_argument("--batch-size", default="8")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--apply-chat-template", action="store_true", help="wrap prompts in the model's chat template")
    ev.add_argument("--metadata", help='JSON passed to the tasks, e.g. \'{"persona": true}\' or data-dir overrides')
    ev.add_argument("--out", required=True, help="results JSON file")
    ev.set_defaults(func=_cmd_evaluate)

    board = sub.add_parser("leaderboard", help="lm-eval results JSON files -> Markdown and CSV")
    board.add_argument("results", nargs="+", help="results JSON files or folders holding them")
    board.add_argument("--base", help="model label to compute changes against (default: the run marked base)")
    board.add_argument("--out", required=True)
    board.set_defaults(func=_cmd_leaderboard)

    quick = sub.add_parser("quickstart", help="the whole path on the embedded model and the bundled sample")
    quick.add_argument("--config", help="pipeline YAML (default: built-in quickstart settings)")
    quick.add_argument("--out", default="out/quickstart")
    quick.set_defaults(func=_cmd_quickstart)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except UserError as exc:
        print(f"bias-inheritance: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
