"""`unrolled train`: train a model with the engine's recipe and save it where the page finds it.

    unrolled train hello --steps 300
    unrolled train --text-file poem.txt --cell gru --hidden 64 --name poem

The model is trained as the page's training jobs train it (engine.recipe, Adam, same defaults),
with a progress bar (loss per token, ETA) and, for a language model, a sample now and then; it is
then saved through the server's registry into the data directory (source "trained"), so the
page lists it, and its id is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from engine import recipe
from engine.tasks import BUILTIN, Task, text_task
from engine.train import TrainConfig
from server.core.errors import ApiError
from server.core.settings import Settings
from server.models.registry import Registry

CELLS = ("rnn", "lstm", "gru")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="unrolled train",
        description="Train a model on a built-in task or your own text and save it into the "
        "data directory, where the page lists it.",
    )
    p.add_argument("task", nargs="?", choices=sorted(BUILTIN), help="a built-in task")
    p.add_argument("--text-file", type=Path, help="train a character model on this text file")
    p.add_argument("--cell", choices=CELLS, default="lstm", help="the cell (default lstm)")
    p.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    p.add_argument("--layers", type=int, default=1, help="stacked layers (default 1)")
    p.add_argument("--steps", type=int, default=300, help="parameter updates (default 300)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate (default 0.01)")
    p.add_argument(
        "--seq-len", type=int, default=25, help="characters per chunk (truncated BPTT, default 25)"
    )
    p.add_argument("--seed", type=int, default=0, help="initial weights and order (default 0)")
    p.add_argument("--name", help="the model's name (default <cell>-<task>)")
    p.add_argument("--data-dir", help="where models are kept (default: the server's data dir)")
    args = p.parse_args(argv)
    if (args.task is None) == (args.text_file is None):
        p.error("give either a built-in task (hello, question, rhymes) or --text-file PATH")
    if min(args.hidden, args.layers, args.steps, args.seq_len) < 1 or args.lr <= 0:
        p.error("--hidden, --layers, --steps, --seq-len and --lr must be positive")
    return args


def task_from(args: argparse.Namespace) -> Task:
    if args.task is not None:
        return BUILTIN[args.task]
    try:
        text = args.text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"unrolled train: cannot read {args.text_file}: {e}")
    if len(text) < 2:
        sys.exit(f"unrolled train: {args.text_file} needs at least two characters")
    return text_task(text)


def main(argv: list[str] | None = None) -> str:
    """Train, save, print the model id; returns it."""
    args = parse_args(argv)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    task = task_from(args)
    cfg = TrainConfig(
        steps=args.steps,
        seq_len=args.seq_len,
        optimizer="adam",
        lr=args.lr,
        seed=args.seed,
        sample_every=0 if task.classify else max(args.steps // 5, 50),
        sample_len=60,
    )
    per_update = recipe.tokens_per_update(task, cfg)  # loss per token, as the page shows it
    console = Console()
    loss: list[float] = []  # smoothed loss per token, as the page's training status

    with Progress(
        TextColumn(f"[bold]{args.cell} {task.id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("train", total=args.steps, loss="-")

        def on_step(info: dict) -> None:
            loss.append(
                recipe.smoothed_loss(loss[-1] if loss else None, info["raw_loss"], per_update)
            )
            progress.update(bar, completed=info["step"], loss=f"{loss[-1]:.4f}")

        def on_sample(text: str) -> None:
            progress.console.print(f"[dim]sample:[/dim] {text!r}", soft_wrap=True)

        try:
            trained = recipe.train_task(
                task,
                args.cell,
                args.hidden,
                cfg,
                num_layers=args.layers,
                seed=args.seed,
                on_step=on_step,
                on_sample=on_sample,
            )
        except KeyboardInterrupt:
            sys.exit("unrolled train: stopped; nothing was saved")

    if task.classify:
        scored = recipe.score(trained)
        console.print(f"loss {scored['loss']:.4f}, accuracy {scored['accuracy']:.1%}")
    else:
        console.print(f"loss per token {loss[-1]:.4f}")
    name = args.name or f"{args.cell}-{task.id}"
    try:
        entry = Registry(settings.data_dir).add(
            trained.model,
            trained.vocab,
            source="trained",
            name=name,
            description=f"You trained this {args.cell.upper()} ({args.hidden} hidden units, "
            f"{args.steps} steps) on the command line: {task.description}",
            **recipe.metadata(task),
        )
    except ApiError as e:
        sys.exit(f"unrolled train: not saved: {e}")
    console.print(
        f"saved model {entry.id} in {settings.data_dir / 'models'}", highlight=False, soft_wrap=True
    )
    return entry.id
