"""The shipped catalogue loads; extra TOML adds indicators; bad definitions name the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ValidationError
from kpi.catalogue import Aggregate, load_catalogue, parse_catalogue_text

SHIPPED = {
    "meetings_held",
    "inbound_calls",
    "outbound_calls",
    "outbound_calls_answered",
    "missed_not_called_back",
    "outgoing_letters",
    "outgoing_messages",
    "sms_sent",
    "sms_delivered_share",
    "call_round_calls_done",
    "completed_interactions",
    "overdue_interactions",
    "client_base_quality",
    "touches_per_client",
    "forgotten_clients",
    "calendar_load",
}


def test_shipped_catalogue() -> None:
    catalogue = load_catalogue()
    assert set(catalogue) == SHIPPED
    assert catalogue["overdue_interactions"].lower_is_better
    assert catalogue["overdue_interactions"].default_plan == 3
    assert catalogue["client_base_quality"].fields == ("email", "phone", "city")
    assert catalogue["touches_per_client"].aggregate is Aggregate.PER_CONTACT
    assert catalogue["outbound_calls"].where.flags == {"is_client": True}


def test_extra_file_adds_an_indicator_in_a_few_lines(tmp_path: Path) -> None:
    extra = tmp_path / "more.toml"
    extra.write_text(
        '[[indicator]]\ncode = "answer_rate"\ntitle = "Answered share of outbound calls"\n'
        'aggregate = "ratio"\nwhere = { channel = "call", direction = "out", is_client = true }\n'
        'numerator = { status = "answered" }\n',
        encoding="utf-8",
    )
    catalogue = load_catalogue(extra, required_fields=["email", "position"], forgotten_days=14)
    assert "answer_rate" in catalogue and catalogue["answer_rate"].unit == "%"
    assert catalogue["client_base_quality"].fields == ("email", "position")
    assert catalogue["forgotten_clients"].days == 14


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('code = "x"\nwhere = { colour = "red" }', "unknown field 'colour'"),
        ('code = "x"\nwhere = { channel = "fax" }', "unknown channel fax"),
        ('code = "x"\nwhere = { is_client = "yes" }', "is_client must be true or false"),
        ('code = "x"\naggregate = "median"', "aggregate 'median'"),
        ('code = "x"\naggregate = "sum"\nfield = "price"', "field 'price'"),
        (
            'code = "x"\naggregate = "filled_share"\nfields = ["shoe_size"]',
            "unknown contact field 'shoe_size'",
        ),
        ('code = "x"\naggregate = "ratio"', "needs a numerator"),
        ('code = "x"\nwhere = { overdue = true }', "overdue needs"),
        ('code = "x"\ncolor = "red"', "unknown key(s) color"),
        ('code = "not valid"', "must be an identifier"),
        ('code = "x"\ndefault_plan = -1', "default_plan"),
    ],
)
def test_bad_definitions_name_what_is_wrong(body: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_catalogue_text(
            f"[[indicator]]\n{body}\n",
            origin="extra.toml",
            required_fields=["email"],
            forgotten_days=30,
        )
    assert message in str(info.value) and "extra.toml" in str(info.value)


def test_unknown_required_contact_field_in_settings() -> None:
    with pytest.raises(ValidationError, match="unknown contact field 'fax'"):
        load_catalogue(required_fields=["fax"])


def test_missing_extra_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        load_catalogue(tmp_path / "nope.toml")
