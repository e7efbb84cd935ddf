"""The passwords nobody may choose (ASVS 6.2.4, 6.2.12; NIST SP 800-63B-4 §3.1.1.2)."""

from __future__ import annotations

import pytest

from twostep.domain.password_blocklist import COMMON, CONTEXT, problems

EMAIL = "jane.doe@example.com"


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "PASSWORD",
        "Password1!",  # padding does not make a common password uncommon
        "!!qwerty2026",
        "iloveyou",
        "ｐａｓｓｗｏｒｄ",  # fullwidth letters: the same after NFKC
        "123456789",
        "Dragon",
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    assert problems(password, EMAIL) == [COMMON]


@pytest.mark.parametrize(
    "password",
    ["jane.doe@example.com", "jane2026", "JaneDoe!!", "thingsboard1", "TwoStep!", "2026twostep"],
)
def test_the_email_and_the_service_names_are_refused(password: str) -> None:
    # (a service name may be on the common list too: either reason refuses it)
    assert problems(password, EMAIL) in ([CONTEXT], [COMMON])


@pytest.mark.parametrize("password", ["jane.doe2026!", "Jane.Doe"])
def test_the_email_is_context_for_its_owner_only(password: str) -> None:
    assert problems(password, EMAIL) == [CONTEXT]
    assert problems(password, "someone.else@example.com") == []


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Tr0ub4dor&3",
        "user-Pa55word",
        "violet-otter-93-lantern",
        "пароль-надёжный-42",
    ],
)
def test_uncommon_passwords_pass(password: str) -> None:
    assert problems(password, EMAIL) == []
