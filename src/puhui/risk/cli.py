"""`puhui risk …`: train, evaluate, promote and score credit models."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Risk control: credit models and fraud rules.")
