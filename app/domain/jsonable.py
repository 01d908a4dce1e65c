"""Plain JSON values from the types services hand out (ids, dates, decimals, enums)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any


def to_json_value(value: Any) -> Any:
    """One value as JSON can hold it; ``json.dumps(..., default=to_json_value)``."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def jsonable(value: Any) -> Any:
    """A whole structure (dicts, lists, tuples) as plain JSON values, for jsonb columns."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return to_json_value(value)
