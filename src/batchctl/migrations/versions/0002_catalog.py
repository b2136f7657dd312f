"""catalog: what Medusa's product CSV carries (options, prices, regions, images, tags, collections, types)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

``product`` and ``product_variant`` gain their columns through batch mode, which on SQLite copies the
table (SQLite cannot add a foreign key to an existing table) and on PostgreSQL is plain ALTER TABLE.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _codes() -> list[sa.Column[Any]]:
    return [
        sa.Column("hs_code", sa.String(length=200), nullable=True),
        sa.Column("origin_country", sa.String(length=200), nullable=True),
        sa.Column("mid_code", sa.String(length=200), nullable=True),
        sa.Column("material", sa.String(length=200), nullable=True),
    ]


def _dimensions() -> list[sa.Column[Any]]:
    return [sa.Column(name, sa.Integer(), nullable=True) for name in ("weight", "length", "height", "width")]


def upgrade() -> None:
    op.create_table(
        "product_collection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handle"),
    )
    op.create_table(
        "product_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("value"),
    )
    op.create_table(
        "product_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("value"),
    )
    op.create_table(
        "region",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )

    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("subtitle", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("thumbnail", sa.Text(), nullable=True))
        for column in [*_dimensions(), *_codes()]:
            batch.add_column(column)
        batch.add_column(sa.Column("collection_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("type_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("discountable", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.create_foreign_key(
            "fk_product_collection_id", "product_collection", ["collection_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key("fk_product_type_id", "product_type", ["type_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_product_collection_id", ["collection_id"])
        batch.create_index("ix_product_type_id", ["type_id"])

    with op.batch_alter_table("product_variant") as batch:
        batch.add_column(sa.Column("barcode", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("allow_backorder", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("manage_inventory", sa.Boolean(), server_default=sa.true(), nullable=False))
        for column in [*_dimensions(), *_codes()]:
            batch.add_column(column)
        batch.add_column(sa.Column("variant_rank", sa.Integer(), server_default="0", nullable=False))
        batch.drop_index("ix_product_variant_product_id")
        batch.create_index("ix_product_variant_product_id_rank", ["product_id", "variant_rank"])

    op.create_table(
        "product_tags",
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["product_tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", "tag_id"),
    )
    op.create_index("ix_product_tags_product_id_position", "product_tags", ["product_id", "position"])
    op.create_table(
        "product_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_product_image_product_id_position", "product_image", ["product_id", "position"])
    op.create_table(
        "product_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_product_option_product_id_position", "product_option", ["product_id", "position"])
    op.create_table(
        "product_option_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["product_variant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["option_id"], ["product_option.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("variant_id", "option_id", name="uq_product_option_value_variant_option"),
    )
    op.create_index("ix_product_option_value_option_id", "product_option_value", ["option_id"])
    op.create_table(
        "money_amount",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.String(length=40), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["product_variant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_money_amount_variant_id", "money_amount", ["variant_id"])
    op.create_index("ix_money_amount_region_id", "money_amount", ["region_id"])


def downgrade() -> None:
    for table in ("money_amount", "product_option_value", "product_option", "product_image", "product_tags"):
        op.drop_table(table)
    with op.batch_alter_table("product_variant") as batch:
        batch.drop_index("ix_product_variant_product_id_rank")
        batch.create_index("ix_product_variant_product_id", ["product_id"])
        for name in ("barcode", "allow_backorder", "manage_inventory", "weight", "length", "height", "width"):
            batch.drop_column(name)
        for name in ("hs_code", "origin_country", "mid_code", "material", "variant_rank"):
            batch.drop_column(name)
    with op.batch_alter_table("product") as batch:
        batch.drop_index("ix_product_type_id")
        batch.drop_index("ix_product_collection_id")
        batch.drop_constraint("fk_product_type_id", type_="foreignkey")
        batch.drop_constraint("fk_product_collection_id", type_="foreignkey")
        for name in ("subtitle", "description", "thumbnail", "weight", "length", "height", "width", "hs_code"):
            batch.drop_column(name)
        for name in ("origin_country", "mid_code", "material", "collection_id", "type_id", "discountable"):
            batch.drop_column(name)
        batch.drop_column("external_id")
    for table in ("region", "product_tag", "product_type", "product_collection"):
        op.drop_table(table)
