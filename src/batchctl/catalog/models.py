"""The demo catalog's tables (README, Product import and export): what product-export writes and product-import reads.

Fenced off from the job tables in ``batchctl.models``, which imports this module so that the metadata
Alembic and the migration tests see is the whole schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

Timestamp = sa.DateTime(timezone=True)


def _fk(target: str, *, nullable: bool, ondelete: str = "CASCADE", index: bool = True, type_: Any = None) -> Any:
    return Field(
        default=None,
        sa_column=sa.Column(
            type_ if type_ is not None else sa.String(40),
            sa.ForeignKey(target, ondelete=ondelete),
            nullable=nullable,
            index=index,
        ),
    )


def _flag(default: bool) -> Any:
    # A server default too, so that the migration can add the column to a table that already has rows.
    return Field(default=default, sa_column_kwargs={"server_default": sa.true() if default else sa.false()})


class ProductCollection(SQLModel, table=True):
    """A collection of products (Medusa's ``Product Collection Title``/``Handle``)."""

    __tablename__ = "product_collection"

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, max_length=200)
    title: str = Field(max_length=500)


class ProductType(SQLModel, table=True):
    """A product type (Medusa's ``Product Type``)."""

    __tablename__ = "product_type"

    id: int | None = Field(default=None, primary_key=True)
    value: str = Field(unique=True, max_length=200)


class ProductTag(SQLModel, table=True):
    """A tag that products carry (Medusa's comma-separated ``Product Tags``)."""

    __tablename__ = "product_tag"

    id: int | None = Field(default=None, primary_key=True)
    value: str = Field(unique=True, max_length=200)


class Region(SQLModel, table=True):
    """A region with its currency; a price may be per region (``Price <Region> [<CUR>]``)."""

    __tablename__ = "region"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    currency_code: str = Field(max_length=3)


class Product(SQLModel, table=True):
    """A catalog product; the product strategies work on these."""

    __tablename__ = "product"
    __table_args__ = (sa.Index("ix_product_status_id", "status", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    handle: str = Field(unique=True, max_length=200)
    title: str = Field(max_length=500)
    subtitle: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    status: str = Field(default="draft", max_length=20)
    thumbnail: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    weight: int | None = None
    length: int | None = None
    height: int | None = None
    width: int | None = None
    hs_code: str | None = Field(default=None, max_length=200)
    origin_country: str | None = Field(default=None, max_length=200)
    mid_code: str | None = Field(default=None, max_length=200)
    material: str | None = Field(default=None, max_length=200)
    collection_id: int | None = _fk("product_collection.id", nullable=True, ondelete="SET NULL", type_=sa.Integer)
    type_id: int | None = _fk("product_type.id", nullable=True, ondelete="SET NULL", type_=sa.Integer)
    discountable: bool = _flag(True)
    external_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class ProductTagLink(SQLModel, table=True):
    """A tag on a product, in the product's order of tags."""

    __tablename__ = "product_tags"
    # The export reads a product's tags in order: (product_id, position) serves that without a sort.
    __table_args__ = (sa.Index("ix_product_tags_product_id_position", "product_id", "position"),)

    product_id: str = Field(
        sa_column=sa.Column(sa.String(40), sa.ForeignKey("product.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("product_tag.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int = 0


class ProductImage(SQLModel, table=True):
    """An image of a product (``Image N Url``), in order."""

    __tablename__ = "product_image"
    __table_args__ = (sa.Index("ix_product_image_product_id_position", "product_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: str = _fk("product.id", nullable=False, index=False)
    url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    position: int = 0


class ProductOption(SQLModel, table=True):
    """An option of a product, e.g. Size (``Option N Name``); its variants have one value each."""

    __tablename__ = "product_option"
    __table_args__ = (sa.Index("ix_product_option_product_id_position", "product_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: str = _fk("product.id", nullable=False, index=False)
    title: str = Field(max_length=200)
    position: int = 0


class ProductVariant(SQLModel, table=True):
    """A sellable variant of a product (one CSV line each)."""

    __tablename__ = "product_variant"
    # A product's variants in their order (the CSV's line order), without a sort.
    __table_args__ = (sa.Index("ix_product_variant_product_id_rank", "product_id", "variant_rank"),)

    id: str = Field(primary_key=True, max_length=40)
    product_id: str = _fk("product.id", nullable=False, index=False)
    title: str = Field(max_length=500)
    sku: str | None = Field(default=None, unique=True, max_length=200)
    barcode: str | None = Field(default=None, max_length=200)
    inventory_quantity: int = 0
    allow_backorder: bool = _flag(False)
    manage_inventory: bool = _flag(True)
    weight: int | None = None
    length: int | None = None
    height: int | None = None
    width: int | None = None
    hs_code: str | None = Field(default=None, max_length=200)
    origin_country: str | None = Field(default=None, max_length=200)
    mid_code: str | None = Field(default=None, max_length=200)
    material: str | None = Field(default=None, max_length=200)
    # The variant's place among its product's variants (Medusa's variant_rank): the order of the CSV lines.
    variant_rank: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class ProductOptionValue(SQLModel, table=True):
    """A variant's value for one of its product's options (``Option N Value``)."""

    __tablename__ = "product_option_value"
    __table_args__ = (sa.UniqueConstraint("variant_id", "option_id", name="uq_product_option_value_variant_option"),)

    id: int | None = Field(default=None, primary_key=True)
    variant_id: str = _fk("product_variant.id", nullable=False, index=False)
    option_id: int = _fk("product_option.id", nullable=False, type_=sa.Integer)
    value: str = Field(max_length=500)


class MoneyAmount(SQLModel, table=True):
    """A variant's price in a currency (``Price EUR``) or in a region (``Price Europe [EUR]``), in minor units."""

    __tablename__ = "money_amount"

    id: int | None = Field(default=None, primary_key=True)
    variant_id: str = _fk("product_variant.id", nullable=False)
    currency_code: str = Field(max_length=3)
    region_id: int | None = _fk("region.id", nullable=True, type_=sa.Integer)
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
