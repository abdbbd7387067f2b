"""Bulk-load column lists are checked against the schema when they are written down."""

from __future__ import annotations

import pytest

from hub.activity.bulk_load import columns
from hub.activity.schema import employee_addresses, employees


def test_a_list_the_schema_knows_is_kept_in_order() -> None:
    assert columns(employee_addresses, "value", "kind", "employee_id") == (
        "value",
        "kind",
        "employee_id",
    )


def test_an_unknown_column_is_refused() -> None:
    with pytest.raises(ValueError, match=r"employees has no column.*nickname"):
        columns(employees, "id", "name", "nickname")


def test_a_required_column_left_out_is_refused() -> None:
    with pytest.raises(ValueError, match=r"employee_addresses needs column.*value"):
        columns(employee_addresses, "employee_id", "kind")
