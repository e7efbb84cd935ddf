"""A6: backup code reuse, weakness and storage; plus the database-dump check of invariant 3
(spec/security.md §4, design.md invariants).

The defences: 8 lowercase hex characters (32 bits, ThingsBoard's format; longer by
TWOSTEP_BACKUP_CODE_LENGTH) from the CSPRNG, guessed within the shared 2FA lockout (at most 100
failures: under 10^-6 per lockout); stored only as keyed hashes
(HMAC, key outside the database); consumed by one conditional UPDATE (`used_at IS NULL`);
regeneration is delete-and-add, which drops every old code; the codes are shown once, by
`generate`, and never again. Parallel double use is in test_races.py; brute force of the backup
code provider is in test_bruteforce_lockout.py.

The dump check reads every cell of every table after a busy life (TOTP, SMS, email and backup
enrollment, pending enrollments, sent and used codes, token pairs, a password reset) and looks for
any code, TOTP secret, token, password or key in clear.
"""

from __future__ import annotations

import base64
import re
from collections import Counter

from tests.factories import oathtool, secret_of
from tests.security.helpers import check, dump_database, last_code_to, pv_of, send
from tests.support import deliver_queued_mail, outbox
from tests.twofa_helpers import enroll_backup, enroll_delivered
from twostep.keys import load_keys


def test_a_code_is_single_use(client, victim) -> None:  # type: ignore[no-untyped-def]
    codes = enroll_backup(client, victim.headers)
    assert check(client, pv_of(client, victim), "BACKUP_CODE", codes[3]).status_code == 200
    r = check(client, pv_of(client, victim), "BACKUP_CODE", codes[3])
    assert r.status_code == 400
    settings = client.get("/api/2fa/account/settings", headers=victim.headers).json()
    assert settings["configs"]["BACKUP_CODE"]["codesLeft"] == 9


def test_regeneration_invalidates_every_old_code(client, victim) -> None:  # type: ignore[no-untyped-def]
    old = enroll_backup(client, victim.headers)
    assert (
        client.delete(
            "/api/2fa/account/config?providerType=BACKUP_CODE", headers=victim.headers
        ).status_code
        == 200
    )
    new = enroll_backup(client, victim.headers)
    assert not set(old) & set(new)
    for code in old[:3]:
        assert check(client, pv_of(client, victim), "BACKUP_CODE", code).status_code == 400
    assert check(client, pv_of(client, victim), "BACKUP_CODE", new[0]).status_code == 200


def test_a_pending_set_is_not_usable_before_it_is_saved(client, victim) -> None:  # type: ignore[no-untyped-def]
    saved = enroll_backup(client, victim.headers)
    pending = client.post(
        "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=victim.headers
    ).json()["codes"]
    assert check(client, pv_of(client, victim), "BACKUP_CODE", pending[0]).status_code == 400
    assert check(client, pv_of(client, victim), "BACKUP_CODE", saved[0]).status_code == 200


def test_codes_are_never_shown_again(client, sysadmin_headers, victim) -> None:  # type: ignore[no-untyped-def]
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=victim.headers
    ).json()
    saved = client.post("/api/2fa/account/config", headers=victim.headers, json=generated)
    assert saved.status_code == 200
    views = [
        saved.text,
        client.get("/api/2fa/account/settings", headers=victim.headers).text,
        client.get(f"/api/2fa/{victim.id}/settings", headers=sysadmin_headers).text,
        client.put(
            "/api/2fa/account/config?providerType=TOTP",
            headers=victim.headers,
            json={"useByDefault": True},
        ).text,
    ]
    for text in views:
        assert not any(code in text for code in generated["codes"]), text
    assert '"codesLeft":10' in views[1].replace(" ", "")


def test_codes_are_32_bit_csprng_values(client, victim) -> None:  # type: ignore[no-untyped-def]
    """100 generated sets: 1 000 codes of 8 lowercase hex characters (ThingsBoard's login form
    takes exactly that), distinct within a set and (but for a rare 32-bit birthday collision)
    across sets, with hex digits spread evenly (chi-square over 8 000 characters; 15 degrees of
    freedom, bound far above the 99.99 % quantile of about 44)."""
    codes = []
    for _ in range(100):
        r = client.post(
            "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=victim.headers
        )
        assert len(set(r.json()["codes"])) == 10
        codes += r.json()["codes"]
    assert len(codes) == 1000 and len(set(codes)) >= 998
    assert all(re.fullmatch(r"[0-9a-f]{8}", c) for c in codes)
    counts = Counter("".join(codes))
    expected = len(codes) * 8 / 16
    chi2 = sum((counts[ch] - expected) ** 2 / expected for ch in "0123456789abcdef")
    assert chi2 < 60, counts


def test_longer_codes_by_setting_and_codes_of_either_length_keep_working(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    """TWOSTEP_BACKUP_CODE_LENGTH makes new codes longer (twostep's pages and the API take them);
    a set made under the other length stays usable, once per code."""
    short = enroll_backup(client, victim.headers)
    container.config.backup_code_length = 16
    assert all(re.fullmatch(r"[0-9a-f]{8}", c) for c in short)
    assert check(client, pv_of(client, victim), "BACKUP_CODE", short[0]).status_code == 200
    longer = client.post(
        "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=victim.headers
    ).json()["codes"]
    assert all(re.fullmatch(r"[0-9a-f]{16}", c) for c in longer)
    assert client.delete(
        "/api/2fa/account/config?providerType=BACKUP_CODE", headers=victim.headers
    ).status_code == 200
    longer = enroll_backup(client, victim.headers)
    assert all(re.fullmatch(r"[0-9a-f]{16}", c) for c in longer)
    container.config.backup_code_length = 8
    assert check(client, pv_of(client, victim), "BACKUP_CODE", short[1]).status_code == 400
    assert check(client, pv_of(client, victim), "BACKUP_CODE", longer[0][:8]).status_code == 400
    assert check(client, pv_of(client, victim), "BACKUP_CODE", longer[0]).status_code == 200
    assert check(client, pv_of(client, victim), "BACKUP_CODE", longer[0]).status_code == 400
    cells = " ".join(value for _, _, value in dump_database(container))
    assert not any(code in cells for code in longer + short)


# -- invariant 3: a database dump yields nothing usable ------------------------------------------


def test_database_dump_holds_no_code_secret_token_or_password(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    secrets: dict[str, str] = {"password": victim.password, "totp secret": victim.secret}
    numeric: dict[str, str] = {}
    backup = enroll_backup(client, victim.headers)
    for i, code in enumerate(backup):
        secrets[f"backup code {i}"] = code
    # Pending state: a second TOTP secret and a second backup set that were generated, not saved.
    pending_totp = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=victim.headers
    ).json()
    secrets["pending totp secret"] = secret_of(pending_totp["authUrl"])
    pending_codes = client.post(
        "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=victim.headers
    ).json()
    for i, code in enumerate(pending_codes["codes"]):
        secrets[f"pending backup code {i}"] = code
    enroll_delivered(client, container, victim.headers, "SMS", "+12015551111")
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    # A pending setup code (sent, never confirmed).
    assert (
        client.post(
            "/api/2fa/account/config/submit",
            headers=victim.headers,
            json={"providerType": "SMS", "phoneNumber": "+12015552222"},
        ).status_code
        == 200
    )
    # A login code sent and waiting, a used one, a used backup code, a used TOTP step.
    waiting = pv_of(client, victim)
    assert send(client, waiting, "EMAIL").status_code == 200
    used = pv_of(client, victim)
    assert send(client, used, "SMS").status_code == 200
    pair = check(client, used, "SMS", last_code_to(container, "+12015551111")).json()
    pair2 = check(client, pv_of(client, victim), "BACKUP_CODE", backup[0]).json()
    pair3 = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).json()
    for i, p in enumerate([pair, pair2, pair3]):
        secrets[f"access token {i}"] = p["token"]
        secrets[f"refresh token {i}"] = p["refreshToken"]
    secrets["pre-verification token"] = waiting["X-Authorization"][7:]
    # A password reset token.
    client.post("/api/noauth/resetPasswordByEmail", json={"email": victim.email})
    deliver_queued_mail(container)
    link = [m for m in outbox(container.config) if "resetToken=" in m["body"]][-1]["body"]
    secrets["reset token"] = re.search(r"resetToken=([\w-]+)", link).group(1)  # type: ignore[union-attr]
    for i, m in enumerate(outbox(container.config)):
        for code in re.findall(r"(?<!\d)\d{6}(?!\d)", m["body"]):
            numeric[f"code {i} to {m['to']}"] = code
    keys = load_keys(container.config)
    for name in ("jwt_signing", "encryption", "code_hashing"):
        raw = getattr(keys, name)
        secrets[f"key {name} (base64)"] = base64.b64encode(raw).decode()
        secrets[f"key {name} (hex)"] = raw.hex()
    assert numeric and len(secrets) > 30

    cells = dump_database(container)
    tables = {table for table, _, _ in cells}
    assert {
        "twofa_backup_code",
        "twofa_config",
        "twofa_pending",
        "twofa_login_attempt",
        "user_credentials",
    } <= tables
    found = []
    for table, column, value in cells:
        lowered = value.lower()
        for name, secret in secrets.items():
            if secret.lower() in lowered:
                found.append((name, table, column))
        for name, code in numeric.items():
            if re.search(rf"(?<![0-9]){code}(?![0-9])", value):
                found.append((name, table, column))
    assert not found, found
