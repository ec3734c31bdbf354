"""`bias-inheritance`: one CLI whose subcommands follow the stages data flows through.

    model path            prepare the embedded model, print its folder
    data prepare FAMILY   write canonical data into the cache
    generate              biased augmentation D_a            (generators)
    audit PATH            group balance and failures of a generated set (generators)
    mix                   D = D_o ∪ D_a at bias ratio γ       (generators)
    train                 LoRA SFT on the mix                (trainers)
    attribute             the rows that carry the bias: BiasDiff scores, selection, curves (attribution)
    unlearn               NPO on the selected rows, NLL on the rest (trainers); `train --exclude` retrains
    analyze balance|embeddings|findings   misalignment analyses and the findings check (analysis)
    tasks-path            folder for lm-eval's --include_path (bias_tasks)
    evaluate              run lm-eval tasks, keep provenance (evaluation)
    rescore RESULTS       re-score logged samples with the current task code (evaluation)
    leaderboard build|add|update  results -> board: Markdown, CSV, JSON, page (leaderboard)
    show PATH             the chain of cards behind any output
    sweep CONFIG          a grid of cells, shared and resumable, then the board
    quickstart            the quickstart sweep on embedded defaults
    rounds                multi-round runs: round r generates with round r-1's model
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
    from bias_inheritance.data import crows_pairs, culture, gender, opinions

    if args.from_file is not None and args.family != "crows-pairs":
        raise UserError("--from-file is for crows-pairs only.", "use --from-dir for the other families.")
    if args.family == "crows-pairs" and args.from_dir is not None:
        raise UserError("crows-pairs takes --from-file CSV, not --from-dir.", "pass --from-file CSV.")
    if args.family == "all" and args.from_dir is not None:
        raise UserError("`data prepare all` takes no --from-dir (each family has its own layout).",
                        "prepare each family with its own --from-dir, or use `all --sample`.")
    if args.family in ("gender", "all"):
        source = gender.prepare_gender(from_dir=args.from_dir, sample=args.sample, seed=args.seed)
        print(f"gender data ready in {gender.gender_dir()} from {source.label}: {source.rows}")
    if args.family in ("culture", "all"):
        prepared = culture.prepare_culture(from_dir=args.from_dir, sample=args.sample)
        rows = sum(record["rows"] for record in prepared.datasets.values())
        print(f"culture data ready in {culture.culture_dir()} from {prepared.label}: "
              f"{len(prepared.datasets)} datasets, {rows} rows; not prepared: {', '.join(prepared.missing) or 'none'}")
    if args.family in ("opinions", "all"):
        answers = opinions.prepare_opinions(from_dir=args.from_dir, sample=args.sample, seed=args.seed)
        print(f"opinions data ready in {opinions.opinions_dir()}: {opinions.describe(answers)}")
    if args.family in ("crows-pairs", "all"):
        folder = crows_pairs.prepare_crows_pairs(args.from_file, sample=args.sample)
        print(f"crows-pairs data ready in {folder}: {crows_pairs.describe(crows_pairs.load_source(folder))}")


def _cmd_show(args: argparse.Namespace) -> None:
    from pipeline.show import render_chain

    print(render_chain(Path(args.path), as_json=args.json))


def _cmd_tasks_path(args: argparse.Namespace) -> None:
    from bias_tasks import tasks_path

    print(tasks_path())


def _cmd_generate(args: argparse.Namespace) -> None:
    from bias_inheritance import cards
    from bias_inheritance.data import opinions
    from generators.audit import audit_path
    from generators.augment import GenerationSettings, bias_named, generate_augmentation
    from generators.backends.openai_compat import ApiOptions

    settings = GenerationSettings(
        bias=args.bias, bias_type=args.bias_type, count=args.count, model=args.model, backend=args.backend,
        base_url=args.base_url, seed=args.seed, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
        temperature=args.temperature, top_p=args.top_p, max_attempts=args.max_attempts, device=args.device,
        api=ApiOptions(concurrency=args.concurrency, timeout_s=args.timeout, max_retries=args.max_retries),
        adapter=args.adapter,
    )
    settings.validate()
    settings.api.validate()  # a bad bias or type fails before any data or model is read
    options: dict = {"paper_wording": args.paper_wording}
    parents = None
    if args.bias == "culture":
        folder = Path(args.opinions_dir) if args.opinions_dir else opinions.opinions_dir()
        options["questions"] = opinions.load_split("train", folder)
        parents = {"questions": cards.parent("questions", folder)}
    rows = generate_augmentation(bias_named(args.bias), settings, Path(args.out), options=options, parents=parents)
    usable = sum(bool(r["usable"]) for r in rows)
    print(f"{len(rows)} augmented rows ({usable} usable) in {args.out}; audit: {audit_path(Path(args.out))}")


def _cmd_audit(args: argparse.Namespace) -> None:
    from generators.audit import audit_text

    print(audit_text(Path(args.path)))


def _cmd_mix(args: argparse.Namespace) -> None:
    from generators.grid import parse_gammas, write_mix

    results = write_mix(Path(args.augmented), Path(args.out), parse_gammas(args.gamma), args.total, args.seed,
                        original=Path(args.original) if args.original else None)
    for gamma, result in results.items():
        print(f"{len(result.rows)} rows (γ={gamma:g} requested, {result.gamma_realised:.4g} realised) in {result.path}; "
              f"sha256 {result.content_sha256}")


def _cmd_train(args: argparse.Namespace) -> None:
    from trainers.config import TrainSettings
    from trainers.train import train_lora

    from bias_inheritance.io import read_yaml_mapping

    raw = read_yaml_mapping(Path(args.config)) if args.config else {}
    flags = {"device": args.device, "mitigation": args.mitigation, "align_lambda": args.align_lambda,
             "align_balanced_batches": args.align_balanced_batches, "token_cue": args.token_cue,
             "preset": args.preset, "save_optimizer_state": args.save_optimizer_state}
    raw = {**raw, **{name: value for name, value in flags.items() if value is not None}}
    settings = TrainSettings.from_dict(raw, where=args.config or "training flags")
    card = train_lora(args.model, Path(args.data), Path(args.out), settings,
                      exclude=Path(args.exclude) if args.exclude else None)
    summary = card["summary"]
    moved = ", ".join(summary["movement"]["flags"]) or "moved"
    print(f"adapter and card in {args.out} ({settings.mitigation}; data sha256 {summary['data']['sha256']}, "
          f"{card['environment']['device']}, {card['environment']['dtype']}; {moved})")


def _cmd_attribute(args: argparse.Namespace) -> None:
    from attribution.attribute import AttributeSettings, attribute
    from attribution.features import FeatureSettings
    from bias_inheritance.io import read_json, read_yaml_mapping
    from trainers.config import TrainSettings

    warmup = read_yaml_mapping(Path(args.warmup_config)) if args.warmup_config else {}
    if args.preset:
        warmup["preset"] = args.preset
    warmup = TrainSettings.from_dict({"epochs": 1, **warmup, "save_optimizer_state": True, "device": args.device},
                                     where=args.warmup_config or "warm-up flags")
    features = FeatureSettings(projection_dim=args.projection_dim, seed=args.seed, batch_size=args.batch_size,
                               loss_tokens=args.loss_tokens, max_length=warmup.max_length, device=args.device)
    settings = AttributeSettings(probe=args.probe, top=args.top, reduce=args.reduce, features=features, warmup=warmup)
    files = attribute(Path(args.data), Path(args.out), settings, model=args.model,
                      adapter=Path(args.adapter) if args.adapter else None,
                      control=Path(args.control) if args.control else None)
    curves = read_json(files["curves"])
    at_top = [p for p in curves["by_bias_type"]["all"]["method"] if p["p"] == args.top]
    found = f"; coverage {at_top[0]['coverage']:.3f}, precision {at_top[0]['precision']:.3f} at p = {args.top}" if at_top else ""
    print(f"{curves['selected']} of {curves['rows']} rows selected{found}; scores, selection and curves in {args.out}")


def _cmd_unlearn(args: argparse.Namespace) -> None:
    from trainers.unlearn import UnlearnSettings, unlearn

    settings = UnlearnSettings(beta=args.beta, forget_weight=args.forget_weight, retain_weight=args.retain_weight,
                               forget_tokens=args.forget_tokens, learning_rate=args.learning_rate, epochs=args.epochs,
                               batch_size=args.batch_size, max_length=args.max_length, seed=args.seed, device=args.device)
    card = unlearn(args.model, Path(args.data), Path(args.forget), Path(args.out), settings,
                   adapter=Path(args.adapter) if args.adapter else None)
    summary = card["summary"]
    logp, before, after = summary["forget_logp"], summary["capability"]["before"], summary["capability"]["after"]
    print(f"unlearned adapter and card in {args.out}: forget rows' log-prob {logp['reference_mean']:.3f} -> "
          f"{logp['after_mean']:.3f}; retain perplexity {before['retain_answer_perplexity']:.3f} -> "
          f"{after['retain_answer_perplexity']:.3f}; original-row accuracy {before['original_answer_accuracy']:.3f} -> "
          f"{after['original_answer_accuracy']:.3f}")


def _relink(out: Path) -> None:
    """An analysis written into a board (`BOARD/analysis/NAME`): rebuild the board's page to link it."""
    from leaderboard.build import board_inputs, build_board
    from leaderboard.page import ANALYSIS_DIR
    from leaderboard.results import BOARD_JSON

    board = out.parent.parent
    if out.parent.name == ANALYSIS_DIR and (board / BOARD_JSON).is_file():
        print(f"page relinked: {build_board(board_inputs(board), board)['html']}")


def _cmd_analyze_balance(args: argparse.Namespace) -> None:
    from analysis.balance import analyze_balance

    written = analyze_balance([Path(p) for p in args.paths], Path(args.out))
    print("group balance: " + ", ".join(str(p) for p in written.values()))
    _relink(Path(args.out))


def _cmd_analyze_embeddings(args: argparse.Namespace) -> None:
    from analysis.embeddings import analyze_embeddings
    from bias_inheritance.io import read_json

    written = analyze_embeddings(Path(args.dataset), Path(args.out), model=args.model,
                                 adapter=Path(args.adapter) if args.adapter else None, permutations=args.permutations,
                                 seed=args.seed, batch_size=args.batch_size, device=args.device)
    result = read_json(written)
    print(f"energy distance {result['value']:.4g} [{result['interval_low']:.4g}, {result['interval_high']:.4g}] between "
          f"{result['n_original']} original and {result['n_generated']} generated rows; permutation p = "
          f"{result['p_value']:.3g} (resolution {result['p_value_resolution']:.2g}); {written}")
    _relink(Path(args.out))


def _cmd_analyze_findings(args: argparse.Namespace) -> None:
    from analysis.findings import FINDINGS_MD, check_findings
    from bias_inheritance.io import read_json

    written = check_findings(Path(args.board), Path(args.out))
    for key, summary in read_json(written)["summary"].items():
        print(f"{summary['finding']}: {summary['supported']} supported, {summary['contradicted']} contradicted, "
              f"{summary['not enough data']} not enough data (of {summary['tests']} tests)")
    print(f"details: {written} and {Path(args.out) / FINDINGS_MD}")
    _relink(Path(args.out))


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from evaluation.evaluate import evaluate_model

    prompt_format = "chat" if args.apply_chat_template else args.format
    out = evaluate_model(
        args.model, args.tasks.split(","), Path(args.out), adapter=args.adapter, limit=args.limit,
        batch_size=args.batch_size, device=args.device, metadata=_json_object(args.metadata, "--metadata"),
        prompt_format=prompt_format, store=Path(args.store) if args.store else None, label=args.label,
        backend=args.backend,
    )
    print(f"results in {out}")


def _cmd_rescore(args: argparse.Namespace) -> None:
    from evaluation.rescore import rescore

    out = rescore(Path(args.results), metadata=_json_object(args.metadata, "--metadata"))
    print(f"rescored results in {out}")


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


def _print_written(written: dict[str, Path]) -> None:
    for kind, path in written.items():
        print(f"{kind}: {path}")


def _cmd_leaderboard_build(args: argparse.Namespace) -> None:
    from leaderboard.build import build_board

    _print_written(build_board([Path(p) for p in args.results], Path(args.out)))


def _cmd_leaderboard_add(args: argparse.Namespace) -> None:
    from leaderboard.build import add_external

    _print_written(add_external(Path(args.base), Path(args.tuned), args.label, Path(args.board)))


def _cmd_leaderboard_update(args: argparse.Namespace) -> None:
    from leaderboard.update import describe_update, update_board

    print(describe_update(update_board(Path(args.entries), Path(args.board)), Path(args.board)))


def _cmd_quickstart(args: argparse.Namespace) -> None:
    from pipeline.experiment import experiment_from_yaml, quickstart_experiment
    from pipeline.sweep import run_experiment

    experiment = experiment_from_yaml(Path(args.config)) if args.config else quickstart_experiment()
    run_experiment(experiment, Path(args.out))


def _cmd_sweep(args: argparse.Namespace) -> None:
    from pipeline.sweep import parse_slurm_parameters, run_sweep

    run_sweep(args.config, Path(args.out), dry_run=args.dry_run, executor=args.executor, shard=args.shard,
              workers=args.workers, slurm_parameters=parse_slurm_parameters(args.slurm))


def _cmd_rounds(args: argparse.Namespace) -> None:
    """The sweep of a config with a `rounds:` section (its rounds are cells of the grid)."""
    from pipeline.experiment import load_config
    from pipeline.sweep import run_sweep

    if load_config(args.config).rounds.count < 1:
        raise UserError("The config runs no rounds (rounds.count is 0).", "set rounds.count to 1 or more.")
    run_sweep(args.config, Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    from bias_inheritance.schema import EVAL_BACKENDS, FORMAT_CHOICES
    from generators.backends import BACKENDS
    from generators.requests import BIASES
    from trainers.mitigations import MITIGATIONS
    from trainers.presets import PRESETS

    parser = argparse.ArgumentParser(prog="bias-inheritance", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    model = sub.add_parser("model", help="embedded model").add_subparsers(dest="model_command", required=True)
    path = model.add_parser("path", help="prepare the model if needed and print its folder")
    path.add_argument("--model", default="embedded", help="embedded (default), a folder or a hub id")
    path.set_defaults(func=_cmd_model_path)

    data = sub.add_parser("data", help="data preparation").add_subparsers(dest="data_command", required=True)
    prepare = data.add_parser("prepare", help="write canonical data into the cache")
    prepare.add_argument("family", choices=["gender", "culture", "opinions", "crows-pairs", "all"],
                         help="all: every family (with --sample: every bundled sample)")
    source = prepare.add_mutually_exclusive_group()
    source.add_argument("--from-dir", type=Path, help="read a local copy instead of the hub")
    source.add_argument("--sample", action="store_true", help="install the bundled synthetic sample")
    source.add_argument("--from-file", type=Path, help="crows-pairs: a local copy of the CrowS-Pairs CSV")
    prepare.add_argument("--seed", type=int, default=0)
    prepare.set_defaults(func=_cmd_data_prepare)

    sub.add_parser("tasks-path", help="print the folder for lm-eval --include_path").set_defaults(func=_cmd_tasks_path)

    gen = sub.add_parser("generate", help="generate the biased augmentation set D_a")
    gen.add_argument("--bias", choices=BIASES, default="gender", help="gender (biographies) or culture (opinion answers)")
    gen.add_argument("--bias-type", required=True, help="number (0-6) or name, e.g. 4 or contrastive_single_explicit")
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--model", default="embedded", help="embedded, a folder, a hub id, or the API's model name")
    gen.add_argument("--adapter", help="a LoRA adapter from `train` on --model: generate with a round's fine-tuned model")
    gen.add_argument("--backend", choices=BACKENDS, default="hf",
                     help="hf (transformers), vllm (GPU extra) or openai (any OpenAI-compatible endpoint)")
    gen.add_argument("--base-url", help="the endpoint of --backend openai (API key from $OPENAI_API_KEY)")
    gen.add_argument("--concurrency", type=int, default=8, help="--backend openai: requests in flight at once")
    gen.add_argument("--timeout", type=float, default=120.0, help="--backend openai: seconds per attempt")
    gen.add_argument("--max-retries", type=int, default=5,
                     help="--backend openai: retries (exponential backoff) on 429, 5xx and dropped connections")
    gen.add_argument("--out", required=True, help="JSON-lines file; an unfinished one with the same inputs is resumed")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--batch-size", type=int, default=8)
    gen.add_argument("--max-new-tokens", type=int, default=160)
    gen.add_argument("--temperature", type=float, default=0.7)
    gen.add_argument("--top-p", type=float, default=0.9)
    gen.add_argument("--max-attempts", type=int, default=3, help="tries per request whose answer cannot be read")
    gen.add_argument("--paper-wording", action="store_true",
                     help="gender types 2 and 3 without the profession in the prompt (labelled from the text)")
    gen.add_argument("--opinions-dir", help="prepared GlobalOpinionQA folder for --bias culture (default: the cache)")
    gen.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, mps or cpu")
    gen.set_defaults(func=_cmd_generate)

    mix = sub.add_parser("mix", help="mix D_o and D_a at bias ratio γ with |D| fixed")
    mix.add_argument("--augmented", required=True)
    mix.add_argument("--original", help="D_o: a prepared folder or JSON-lines file "
                                        "(default: the prepared data of D_a's bias: gender, or opinions for culture)")
    mix.add_argument("--gamma", required=True, help="bias ratio(s) γ, comma-separated, e.g. 0,0.05,0.1,0.2,0.5")
    mix.add_argument("--total", type=int, help="|D| (default: |D_o|)")
    mix.add_argument("--seed", type=int, default=0)
    mix.add_argument("--out", required=True, help="a .jsonl file (one γ) or a grid folder: GRID/gamma_<γ>/ per γ "
                                                   "(a Hugging Face dataset) and GRID/grid.json")
    mix.set_defaults(func=_cmd_mix)

    train = sub.add_parser("train", help="LoRA SFT on a mixed set")
    train.add_argument("--data", required=True, help="mixed JSON-lines from `mix`")
    train.add_argument("--model", default="embedded")
    train.add_argument("--config", help="YAML of TrainSettings fields (flags below override it)")
    train.add_argument("--preset", help="start from a preset: " + ", ".join(PRESETS))
    train.add_argument("--mitigation", choices=MITIGATIONS, help="none (default), token, mask or loss (SPEC §6)")
    train.add_argument("--align-lambda", type=float, help="λ of the alignment loss (mitigation loss; default 1.0)")
    train.add_argument("--align-balanced-batches", action=argparse.BooleanOptionalAction, default=None,
                       help="spread the augmented rows over the batches, none repeated")
    train.add_argument("--token-cue", help="the cue before augmented texts (mitigation token)")
    train.add_argument("--save-optimizer-state", action=argparse.BooleanOptionalAction, default=None,
                       help="keep the Adam moments beside the adapter (for gradient attribution)")
    train.add_argument("--device", help="auto (default: cuda, then mps, then cpu), cuda, mps or cpu")
    train.add_argument("--exclude", help="JSON lines of row ids to leave out (attribute's selected.jsonl): BiasDiff's retrain")
    train.add_argument("--out", required=True)
    train.set_defaults(func=_cmd_train)

    un = sub.add_parser("unlearn", help="NPO: unlearn the selected rows of a mix, keep the rest (BiasDiff)")
    un.add_argument("--data", required=True, help="the mix the adapter was fine-tuned on")
    un.add_argument("--forget", required=True, help="JSON lines of row ids to forget (attribute's selected.jsonl)")
    un.add_argument("--adapter", help="the fine-tuned adapter to unlearn from (default: the base with a fresh LoRA)")
    un.add_argument("--model", default="embedded")
    un.add_argument("--beta", type=float, default=0.1)
    un.add_argument("--forget-weight", type=float, default=1.0)
    un.add_argument("--retain-weight", type=float, default=1.0)
    un.add_argument("--forget-tokens", choices=["answer", "all"], default="answer",
                    help="tokens the forget term covers: the answer (as in training) or the whole row")
    un.add_argument("--learning-rate", type=float, default=1e-5)
    un.add_argument("--epochs", type=float, default=1.0)
    un.add_argument("--batch-size", type=int, default=4)
    un.add_argument("--max-length", type=int, default=512)
    un.add_argument("--seed", type=int, default=0)
    un.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, mps or cpu")
    un.add_argument("--out", required=True)
    un.set_defaults(func=_cmd_unlearn)

    at = sub.add_parser("attribute", help="BiasDiff: score each row of a mix by its gradient's similarity to biased probes")
    at.add_argument("--data", required=True, help="mixed JSON-lines from `mix` (its augmented rows are the planted truth)")
    at.add_argument("--model", default="embedded")
    at.add_argument("--adapter", help="an adapter trained with --save-optimizer-state (default: a warm-up is trained)")
    at.add_argument("--probe", required=True, help="gender, culture (the bundled probe sets) or a CrowS-Pairs CSV")
    at.add_argument("--top", type=float, default=0.35, help="share of rows selected (default 0.35)")
    at.add_argument("--reduce", choices=["mean", "max"], default="mean", help="a row's score over the probes")
    at.add_argument("--control", help="a control mix (augmented rows of type 0 at the same γ): how much is style")
    at.add_argument("--projection-dim", type=int, default=8192)
    at.add_argument("--seed", type=int, default=0, help="seed of the random projection")
    at.add_argument("--loss-tokens", choices=["answer", "all"], default="answer",
                    help="tokens a row's gradient is taken over: the answer (as in training) or the whole row")
    at.add_argument("--batch-size", type=int, default=8)
    at.add_argument("--warmup-config", help="YAML of TrainSettings fields for the warm-up (default: 1 epoch)")
    at.add_argument("--preset", help="the warm-up's training preset: " + ", ".join(PRESETS))
    at.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, mps or cpu")
    at.add_argument("--out", required=True)
    at.set_defaults(func=_cmd_attribute)

    analyze = sub.add_parser("analyze", help="misalignment analyses (SPEC §5) and the findings check (SPEC §8)")
    analyses = analyze.add_subparsers(dest="analyze_command", required=True)
    balance = analyses.add_parser("balance", help="group balance of generated sets, from their audits")
    balance.add_argument("paths", nargs="+", help="audit files (.audit.json) or folders holding them (a sweep's output)")
    balance.add_argument("--out", required=True, help="folder (BOARD/analysis/balance links it from the board's page)")
    balance.set_defaults(func=_cmd_analyze_balance)
    embed = analyses.add_parser("embeddings", help="original vs generated rows' representations: energy distance, permutation test, PCA")
    embed.add_argument("dataset", help="a mixed JSON-lines set (origin original|augmented)")
    embed.add_argument("--model", default="embedded")
    embed.add_argument("--adapter", help="represent with a fine-tuned adapter")
    embed.add_argument("--permutations", type=int, default=999, help="B: the p-value's resolution is 1/(B + 1)")
    embed.add_argument("--seed", type=int, default=0)
    embed.add_argument("--batch-size", type=int, default=16)
    embed.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, mps or cpu")
    embed.add_argument("--out", required=True, help="folder (BOARD/analysis/embeddings links it from the board's page)")
    embed.set_defaults(func=_cmd_analyze_embeddings)
    findings = analyses.add_parser("findings", help="do SPEC §8's directional findings hold on a board? (seeds as replicates, Holm)")
    findings.add_argument("board", help="a board folder (or its leaderboard.csv)")
    findings.add_argument("--out", required=True, help="folder (BOARD/analysis/findings links it from the board's page)")
    findings.set_defaults(func=_cmd_analyze_findings)

    ev = sub.add_parser("evaluate", help="run bias_inheritance tasks through lm-eval")
    ev.add_argument("--model", default="embedded")
    ev.add_argument("--adapter", help="LoRA adapter folder from `train`")
    ev.add_argument("--tasks", default="bias_inheritance_gender_bios",
                    help="comma-separated task, group or tag names, or globs such as 'bias_inheritance_*'")
    ev.add_argument("--limit", type=float)
    ev.add_argument("--batch-size", default="8")
    ev.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cuda, mps or cpu")
    ev.add_argument("--backend", choices=EVAL_BACKENDS, default="hf",
                    help="lm-eval model type: hf (transformers) or vllm (GPU; the adapter as a LoRA request)")
    ev.add_argument("--format", choices=FORMAT_CHOICES, default="auto",
                    help="prompt format for every task: auto = the chat template when the model has one")
    ev.add_argument("--apply-chat-template", action="store_true", help="same as --format chat (lm-eval's spelling)")
    ev.add_argument("--metadata", help='JSON passed to the tasks, e.g. \'{"persona": true}\' or data-dir overrides')
    ev.add_argument("--store", help="folder of per-task results to reuse (default: <out>.tasks/ beside --out)")
    ev.add_argument("--label", help="row label on the leaderboard (default: adapter or model folder name)")
    ev.add_argument("--out", required=True, help="results JSON file")
    ev.set_defaults(func=_cmd_evaluate)

    re = sub.add_parser("rescore", help="re-score logged samples with the current task code (no generation)")
    re.add_argument("results", help="results JSON written by `evaluate`")
    re.add_argument("--metadata", help="JSON laid over the metadata the evaluation used, e.g. a larger lexicon_path")
    re.set_defaults(func=_cmd_rescore)

    board = sub.add_parser("leaderboard", help="results -> leaderboard.md, .csv, .json and index.html with figures")
    board_sub = board.add_subparsers(dest="board_command", required=True)
    build = board_sub.add_parser("build", help="build the board from results files or folders")
    build.add_argument("results", nargs="+", help="results JSON files (ours or plain lm_eval --output_path) or folders")
    build.add_argument("--out", required=True, help="board folder")
    build.set_defaults(func=_cmd_leaderboard_build)
    add = board_sub.add_parser("add", help="add an external model's base and fine-tuned lm-eval results, rebuild")
    add.add_argument("--base", required=True, help="results JSON of the external base model")
    add.add_argument("--tuned", required=True, help="results JSON of its fine-tuned model")
    add.add_argument("--label", required=True, help="the pair's name on the board")
    add.add_argument("--board", required=True, help="board folder (built by `leaderboard build`)")
    add.set_defaults(func=_cmd_leaderboard_add)
    update = board_sub.add_parser("update", help="evaluate new or changed entries of an entries file, rebuild (CI)")
    update.add_argument("--entries", required=True, help="entries YAML, e.g. leaderboard/entries.yaml")
    update.add_argument("--board", required=True, help="board folder")
    update.set_defaults(func=_cmd_leaderboard_update)

    audit = sub.add_parser("audit", help="print the audit of a generated set (group balance, attributes, refusals)")
    audit.add_argument("path", help="a JSON-lines file written by `generate`")
    audit.set_defaults(func=_cmd_audit)

    show = sub.add_parser("show", help="print the chain of cards behind an output (result, adapter, mix, D_a, data)")
    show.add_argument("path", help="an output of any stage, or its card")
    show.add_argument("--json", action="store_true", help="the full nested cards as JSON")
    show.set_defaults(func=_cmd_show)

    rounds = sub.add_parser("rounds", help="multi-round inheritance: each round generates with the previous round's model")
    rounds.add_argument("--config", required=True, help="experiment YAML with a `rounds:` section (count >= 1); "
                                                        "the same as `sweep CONFIG`")
    rounds.add_argument("--out", required=True)
    rounds.set_defaults(func=_cmd_rounds)

    sweep = sub.add_parser("sweep", help="run an experiment grid: every cell generated, mixed, trained, evaluated; "
                                         "shared work, resumable, then the board")
    sweep.add_argument("config", help="a shipped config (quickstart, paper-gender, paper-culture) or a YAML path")
    sweep.add_argument("--out", default="out/sweep", help="output folder (shared by every worker and shard)")
    sweep.add_argument("--dry-run", action="store_true", help="list cells, their state and the work left; run nothing")
    sweep.add_argument("--executor", choices=("inline", "local", "slurm"), default="inline",
                       help="inline: this process; local: one subprocess per piece; slurm: submitit job arrays")
    sweep.add_argument("--shard", help="i/n: run shard i (0-based) of n; shards share pools and the base via file locks")
    sweep.add_argument("--workers", type=int, default=1, help="--executor local: processes at once")
    sweep.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE",
                       help="--executor slurm: a submitit parameter, e.g. slurm_partition=gpu, gpus_per_node=1, "
                            "timeout_min=240 (repeatable)")
    sweep.set_defaults(func=_cmd_sweep)

    quick = sub.add_parser("quickstart", help="the whole path on the embedded model and the bundled sample")
    quick.add_argument("--config", help="pipeline YAML (default: built-in quickstart settings)")
    quick.add_argument("--out", default="out/quickstart")
    quick.set_defaults(func=_cmd_quickstart)
    return parser


def guarded(call: Callable[[], object]) -> int:
    """Run `call`; a UserError becomes one line on stderr and exit status 2, never a traceback."""
    try:
        call()
    except UserError as exc:
        print(f"bias-inheritance: error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    return guarded(lambda: func(args))


if __name__ == "__main__":
    sys.exit(main())
