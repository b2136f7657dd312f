"""``batchctl products``: the demo catalog that the product strategies work on."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl import bounds
from batchctl.cli import render
from batchctl.cli.options import bounded
from batchctl.cli.runtime import client, creating_client

products_app = typer.Typer(help="The demo product catalog that the product strategies work on.", no_args_is_help=True)


@products_app.command("seed")
def products_seed(
    count: Annotated[int, bounded(bounds.SEED_COUNT, "How many draft products to add.")] = 100,
    variants: Annotated[int, bounded(bounds.SEED_VARIANTS, "Variants per product.")] = 2,
) -> None:
    """Add draft products (with variants) to the demo catalog.

    Example: batchctl products seed --count 500
    """
    from batchctl.operations import seed_products

    added = seed_products(creating_client().runtime, count, variants=variants)
    print(f"added {added} draft products")


@products_app.command("count")
def products_count(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Count the catalog's products per status.

    Example: batchctl products count --status published
    """
    from batchctl.operations import count_products

    counts = count_products(client().runtime, status)
    if as_json:
        render.emit_json(counts)
    elif status is not None:
        print(counts[status])
    else:
        render.emit_table(["STATUS", "PRODUCTS"], [[name, str(n)] for name, n in counts.items()])


def register(app: typer.Typer) -> None:
    """Add the ``products`` group to ``app``."""
    app.add_typer(products_app, name="products")
