"""The dialect's routes (being written)."""

from typing import Final

from fastapi import APIRouter

router = APIRouter()
# The routes whose bodies may carry images → the fields that carry them (API_MAX_IMAGE_BODY_BYTES).
IMAGE_ROUTES: Final[dict[str, frozenset[str]]] = {}
