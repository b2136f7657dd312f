"""Files through the store: uploads for product-import, signed expiring download URLs for exports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["uploads"])
