from __future__ import annotations

import pytest

from twostep.domain.twofa import codes
from twostep.domain.twofa.masking import mask_email, mask_phone


def test_numeric_codes_are_six_digits_and_vary() -> None:
    values = [codes.numeric_code() for _ in range(2000)]
    assert all(len(v) == 6 and v.isdigit() for v in values)
    assert len(set(values)) > 1900
    assert any(v.startswith("0") for v in values)


def test_backup_codes_are_distinct_hex_of_the_chosen_length() -> None:
    batch = codes.backup_codes(10)
    assert len(set(batch)) == 10 and all(codes.is_backup_code(c) for c in batch)
    assert all(len(c) == 8 and c == c.lower() for c in batch)  # ThingsBoard's form takes 8
    for length in (9, 16, 32):
        assert all(len(c) == length and codes.is_backup_code(c) for c in codes.backup_codes(3, length))
    for length in (7, 33):
        with pytest.raises(ValueError):
            codes.backup_codes(1, length)


@pytest.mark.parametrize("value", ["0" * 8, "ab12cd34", "f" * 16, "0" * 32])
def test_backup_code_accepts_every_length_the_server_generates(value: str) -> None:
    assert codes.is_backup_code(value)


@pytest.mark.parametrize("value", [None, "", "0" * 7, "0" * 33, "AB12CD34", "ab12cd3g", " ab12cd34", "ab12-cd34"])
def test_backup_code_refuses(value: str | None) -> None:
    assert not codes.is_backup_code(value)


@pytest.mark.parametrize("value", ["123456", "000000"])
def test_numeric_code_accepts(value: str) -> None:
    assert codes.is_numeric_code(value)


@pytest.mark.parametrize("value", [None, "", "12345", "1234567", " 123456", "123456 ", "12 345", "１２３４５６",
                                   "123_45", "+12345", "٣٣٣٣٣٣", "12345\n"])
def test_numeric_code_refuses(value: str | None) -> None:
    assert not codes.is_numeric_code(value)


def test_masking_as_thingsboard() -> None:
    assert mask_phone("+380501253652") == "+38********52"
    assert mask_email("abcdefko@gmail.com") == "ab****ko@gmail.com"
    assert mask_email("abcd@x.io") == "****@x.io"
