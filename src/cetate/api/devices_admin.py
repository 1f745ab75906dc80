"""Routes under /api/v1 (to be implemented)."""

from fastapi import APIRouter

router = APIRouter()
