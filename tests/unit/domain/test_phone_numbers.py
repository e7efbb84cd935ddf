"""domain/phone_numbers.py: validity for the region, the type, the policy and its settings field."""

from __future__ import annotations

import pytest

from twostep.domain import phone_numbers as pn


@pytest.mark.parametrize(
    "number,kind,region",
    [
        ("+447400123456", "MOBILE", "GB"),
        ("+12015550123", "FIXED_LINE_OR_MOBILE", "US"),
        ("+19002345678", "PREMIUM_RATE", "US"),
        ("+33884012345", "SHARED_COST", "FR"),
        ("+445612345678", "VOIP", "GB"),
        ("+4930123456", "FIXED_LINE", "DE"),
    ],
)
def test_parse_knows_the_type_and_region(number: str, kind: str, region: str) -> None:
    parsed = pn.parse(number)
    assert parsed is not None and (parsed.type, parsed.region) == (kind, region)


@pytest.mark.parametrize(
    "value",
    [None, 15550001111, "", "+15550001111", "+447700900123", "+88212345678", "+4915123456789\n",
     "+٤٤٧٤٠٠١٢٣٤٥٦", "447400123456", "+44 7400 123456", "+1555000111122223"],
)  # fmt: skip
def test_parse_refuses_what_no_plan_has_or_is_not_e164(value: object) -> None:
    assert pn.parse(value) is None


def test_refusal_by_default_and_with_other_types() -> None:
    assert pn.refusal("+447400123456", pn.DEFAULT_ALLOWED_TYPES) is None
    assert pn.refusal("+12015550123", pn.DEFAULT_ALLOWED_TYPES) is None
    assert pn.refusal("+19002345678", pn.DEFAULT_ALLOWED_TYPES) == (
        "is a premium-rate number; SMS codes go only to mobile numbers"
    )
    assert pn.refusal("+4930123456", ["MOBILE", "FIXED_LINE"]) is None
    assert pn.refusal("+447400123456", ["FIXED_LINE"]) == (
        "is a mobile number; SMS codes go only to fixed-line numbers"
    )
    assert pn.refusal("+15550001111", ["MOBILE"]) == "is not a valid phone number"


def test_allowed_types_from_the_settings() -> None:
    assert pn.allowed_types(None) == pn.DEFAULT_ALLOWED_TYPES
    assert pn.allowed_types({"type": "TWILIO"}) == pn.DEFAULT_ALLOWED_TYPES
    assert pn.allowed_types({"allowedNumberTypes": ["VOIP"]}) == ("VOIP",)
    assert pn.allowed_types({"allowedNumberTypes": []}) == pn.DEFAULT_ALLOWED_TYPES


def test_settings_problem() -> None:
    assert pn.settings_problem(None) is None
    assert pn.settings_problem(["MOBILE", "FIXED_LINE"]) is None
    for bad in ([], ["mobile"], "MOBILE", [None], {"MOBILE": True}):
        assert pn.settings_problem(bad) is not None
    assert "PREMIUM_RATE" in str(pn.settings_problem(["X"]))


def test_country_calling_code_from_the_plan() -> None:
    assert [pn.country_calling_code(n) for n in ("+4915123456789", "+12015550123", "+380501253652",
            "+882160001234", "+2348030000001")] == ["49", "1", "380", "882", "234"]  # fmt: skip
