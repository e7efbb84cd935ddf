"""Apply one mutation at a time to /tmp/mut/src, run the named tests (SQLite unless a mutant
names its backends), restore.

TWOSTEP_MUT_ROOT=/tmp/mut-other runs in another copy (several people at once);
TWOSTEP_MUT_RESULTS names the results file.

See ../MUTATIONS.md. over-limit-guard and secret-sealed are in layered.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("TWOSTEP_MUT_ROOT", "/tmp/mut"))
RESULTS = Path(os.environ.get("TWOSTEP_MUT_RESULTS", "/tmp/mutwork/results.json"))
SRC = ROOT / "src/twostep"
M = []


def mut(id, defence, file, old, new, tests, count=1, backends="sqlite"):
    M.append(
        {
            "id": id,
            "defence": defence,
            "file": file,
            "old": old,
            "new": new,
            "tests": tests,
            "count": count,
            "backends": backends,
        }
    )


S = "tests/security/"
mut(
    "totp-replay",
    "TOTP step used once (last_used_step < step)",
    "services/twofa_store.py",
    '_tc.last_used_step.is_(None) | (_tc.last_used_step < bindparam("b_step")),',
    '_tc.id == bindparam("b_config"),',
    S + "test_totp_replay.py",
)
mut(
    "charge-first",
    "2FA failure counted (increment before the check)",
    "services/twofa_login.py",
    ".values(twofa_failed_attempts=_uc.twofa_failed_attempts + 1)",
    ".values(twofa_failed_attempts=_uc.twofa_failed_attempts + 0)",
    S + "test_bruteforce_lockout.py",
)
mut(
    "password-resets-2fa-count",
    "a correct password never resets the 2FA count",
    "services/auth.py",
    "    values: dict[str, Any] = {}\n",
    '    values: dict[str, Any] = {"twofa_failed_attempts": 0}\n',
    S + "test_bruteforce_lockout.py",
)
mut(
    "success-resets-only",
    "success resets the count",
    "services/twofa_login.py",
    '.values(twofa_failed_attempts=0, last_login_ts=bindparam("b_now"))',
    '.values(last_login_ts=bindparam("b_now"))',
    S + "test_bruteforce_lockout.py",
)
mut(
    "lockout-notice",
    "lockout tells the owner and the lockout address",
    "services/twofa_login.py",
    "        twofa_notify.lockout(\n",
    "        (lambda *a, **k: None)(\n",
    S + "test_bruteforce_lockout.py",
)
mut(
    "admin-unlock-reset",
    "admin unlock clears the 2FA count",
    "services/user_accounts.py",
    ".values(enabled=True, failed_login_attempts=0, twofa_failed_attempts=0)",
    ".values(enabled=True, failed_login_attempts=0)",
    S + "test_bruteforce_lockout.py",
)
mut(
    "attempt-state",
    "restricted token only while its attempt is ACTIVE",
    "services/login_attempts.py",
    'and row.attempt_state == "ACTIVE"',
    "and True",
    S + "test_preverification_token.py",
)
mut(
    "attempt-expiry",
    "restricted token only until its attempt expires",
    "services/login_attempts.py",
    "and row.attempt_expires_at > now_ms()",
    "and True",
    S + "test_preverification_token.py " + S + "test_bruteforce_lockout.py",
)
mut(
    "attempt-finished-once",
    "a code completes only a still-open attempt (concurrent checks of one token)",
    "services/twofa_login.py",
    '        _la.state == "ACTIVE",\n        _la.expires_at > bindparam("b_now"),\n',
    "",
    S + "test_races.py",
)
mut(
    "success-clears-buckets",
    "a successful check empties the user's check bucket (database limiter)",
    "services/twofa_login.py",
    "                        _clear_buckets(c, user_id, settings, conn=conn)",
    "                        pass",
    "tests/api/test_twofa_login.py",
)
mut(
    "attempt-user",
    "restricted token's attempt belongs to its user",
    "services/login_attempts.py",
    ', _la.user_id == bindparam("b_user")',
    "",
    S + "test_preverification_token.py",
)
mut(
    "attempt-scope",
    "restricted token's attempt has its scope",
    "services/login_attempts.py",
    "and row.attempt_scope == claims.authority.value",
    "and True",
    S + "test_preverification_token.py",
)
mut(
    "authority-matrix",
    "route authority lists (require)",
    "web/deps.py",
    "if principal.authority not in allowed:",
    "if False:",
    S + "test_preverification_token.py",
)
mut(
    "refresh-not-access",
    "refresh token is not an access token",
    "web/deps.py",
    "elif claims.authority == Authority.REFRESH_TOKEN:\n        raise PermissionDenied()",
    "elif False:\n        raise PermissionDenied()",
    S + "test_preverification_token.py",
)
mut(
    "session-live",
    "access token only while its session is live",
    "web/deps.py",
    "elif not container.tokens.session_is_live(claims.session_id):",
    "elif False:",
    S + "test_sessions.py " + S + "test_preverification_token.py",
)
mut(
    "jwt-alg",
    "JWT algorithm allow-list (HS512 only)",
    "services/jwt_codec.py",
    "self._allowed = [algorithm]",
    'self._allowed = [algorithm, "HS256"]',
    S + "test_preverification_token.py",
)
mut(
    "jwt-iss",
    "JWT issuer check",
    "services/tokens.py",
    "issuer=self.issuer,",
    "",
    S + "test_preverification_token.py",
)
mut(
    "jwt-exp-required",
    "JWT exp required",
    "services/tokens.py",
    'options={"require": ["exp", "iat", "sub", "iss"]},',
    'options={"require": ["iat", "sub", "iss"]},',
    S + "test_preverification_token.py",
)
mut(
    "strict-code-regex",
    "code is exactly six ASCII digits",
    "domain/twofa/codes.py",
    '_DIGITS = re.compile(r"[0-9]{6}")',
    '_DIGITS = re.compile(r"\\d{6}")',
    S + "test_input_strictness.py",
)
mut(
    "pending-secret",
    "only the server's pending TOTP secret can be activated",
    "providers/totp.py",
    "        if not tools.same(secret_in(submitted.auth_url), secret):\n            raise BadRequest(INCORRECT)\n",
    "        secret = secret_in(submitted.auth_url) or secret\n",
    S + "test_mfa_management.py",
)
mut(
    "pending-backup-codes",
    "only the generated backup codes can be activated",
    "providers/backup_code.py",
    '        if sent != set(pending.backup_code_hashes):\n            raise BadRequest("Backup codes do not match the generated ones")\n        return {"backup_code_hashes": list(pending.backup_code_hashes)}',
    '        return {"backup_code_hashes": list(sent)}',
    S + "test_mfa_management.py",
)
mut(
    "backup-single-use",
    "backup code used once (used_at IS NULL)",
    "services/twofa_store.py",
    "                t.backup_code.c.used_at.is_(None),\n            )\n            .values(used_at=now)",
    "            )\n            .values(used_at=now)",
    S + "test_backup_codes.py",
)
mut(
    "backup-config-bound",
    "backup code bound to its user's factor",
    "providers/backup_code.py",
    'return f"backup:{user_id}"',
    'return "backup"',
    S + "test_flow_bypass.py",
)
mut(
    "backup-hashed",
    "backup codes stored as keyed hashes",
    "providers/backup_code.py",
    "hashes = [tools.keyed_hash(code, scope(user_id)) for code in plain]",
    "hashes = list(plain)",
    S + "test_backup_codes.py::test_database_dump_holds_no_code_secret_token_or_password",
)
mut(
    "login-code-attempt",
    "login code bound to its login attempt",
    "providers/delivered_code.py",
    'return f"login:{attempt_id}:{provider.value}:{target}"',
    'return f"login:{provider.value}:{target}"',
    S + "test_flow_bypass.py",
)
mut(
    "setup-attempts",
    "setup code attempts limited",
    "services/twofa_account.py",
    "SETUP_ATTEMPTS = 10",
    "SETUP_ATTEMPTS = 10**6",
    S + "test_mfa_management.py",
)
mut(
    "setup-destination",
    "setup code bound to its destination",
    "providers/delivered_code.py",
    'return f"setup:{user_id}:{provider.value}:{target}"',
    'return f"setup:{user_id}:{provider.value}"',
    S + "test_mfa_management.py",
)
mut(
    "idor-tenant",
    "tenant admin manages only its tenant (admin reset routes)",
    "services/twofa_account.py",
    "and target.tenant_id == principal.tenant_id",
    "",
    S + "test_mfa_management.py",
)
mut(
    "bound-lifetime",
    "code lifetime <= 600 s",
    "domain/twofa/platform.py",
    "elif lifetime > MAX_CODE_LIFETIME:",
    "elif False:",
    S + "test_mfa_management.py",
)
mut(
    "bound-failures",
    "1 <= lockout <= 100",
    "domain/twofa/platform.py",
    "elif not 1 <= failures <= MAX_FAILURES:",
    "elif False:",
    S + "test_mfa_management.py",
)
mut(
    "bound-total",
    "total time <= 3600 s",
    "domain/twofa/platform.py",
    "elif total > 3600:",
    "elif False:",
    S + "test_mfa_management.py",
)
mut(
    "proxy-hops",
    "X-Forwarded-For only behind trusted_proxy_hops",
    "web/deps.py",
    "    if hops > 0:\n",
    "    if True:\n        hops = hops or 1\n",
    S + "test_client_ip_spoofing.py",
)
mut(
    "proxy-last-entry",
    "X-Forwarded-For: our proxy's entry, not the client's",
    "web/deps.py",
    "address = forwarded[-hops]",
    "address = forwarded[0]",
    S + "test_client_ip_spoofing.py",
)
mut(
    "revoke-password-change",
    "password change revokes sessions and pending steps",
    "services/auth.py",
    "        credentials.store_password(conn, user_id, new_hash, row.password_history, now_ms())\n        c.tokens.revoke_user(conn, user_id)\n",
    "        credentials.store_password(conn, user_id, new_hash, row.password_history, now_ms())\n",
    S + "test_sessions.py",
)
mut(
    "revoke-reset",
    "password reset revokes everything",
    "services/auth.py",
    "        c.tokens.revoke_user(conn, cred.user_id)\n",
    "",
    S + "test_sessions.py",
)
mut(
    "revoke-disable",
    "admin disable revokes everything",
    "services/user_accounts.py",
    "            conn.execute(update(creds).where(where).values(enabled=False))\n            TokenService.revoke_user(conn, user_id)\n",
    "            conn.execute(update(creds).where(where).values(enabled=False))\n",
    S + "test_sessions.py",
)
mut(
    "revoke-lockout",
    "2FA lockout revokes everything",
    "services/twofa_login.py",
    "            c.tokens.revoke_user(conn, user.id)\n",
    "",
    S + "test_sessions.py",
)
mut(
    "revoke-logout",
    "logout revokes the login's sessions",
    "services/auth.py",
    "            c.tokens.revoke_session(conn, session_id)\n",
    "            pass\n",
    S + "test_sessions.py",
)
mut(
    "refresh-rotation",
    "refresh token works once",
    "services/tokens.py",
    ".where(s_.id == session_id, s_.revoked.is_(False), s_.expires_at > now)\n                .values(revoked=True)",
    ".where(s_.id == session_id, s_.revoked.is_(False), s_.expires_at > now)\n                .values(revoked=False)",
    S + "test_sessions.py",
)
mut(
    "dummy-hash",
    "unknown users verified against a dummy hash",
    "crypto.py",
    "            with self._turns:\n                return self._ph.verify(stored or self._dummy, password) and stored is not None",
    "            if stored is None:\n                return False\n            with self._turns:\n                return self._ph.verify(stored, password)",
    S + "test_enumeration.py",
)
mut(
    "unknown-lockout",
    "unknown users lock out like known ones",
    "services/auth.py",
    "        _unknown_user_failure(c, username, failure_limit(settings))\n",
    "",
    S + "test_enumeration.py",
)
mut(
    "state-after-password",
    "account state told only after the password",
    "services/auth.py",
    '    password_ok = c.passwords.verify(row.password_hash if row else None, password)\n    if row is None:',
    '    password_ok = c.passwords.verify(row.password_hash if row else None, password)\n    if row is not None and not row.enabled:\n        raise AuthenticationFailed(NOT_ACTIVE)\n    if row is None:',
    S + "test_enumeration.py",
)
mut(
    "no-store",
    "Cache-Control: no-store on API answers",
    "web/middleware.py",
    'if is_api and b"cache-control" not in names:',
    "if False:",
    S + "test_leakage.py",
)
mut(
    "no-log-codes",
    "codes never logged (mutation adds a debug log)",
    "services/twofa_notify.py",
    '    channel = "sms" if provider == ProviderType.SMS else "email"\n',
    '    channel = "sms" if provider == ProviderType.SMS else "email"\n    import logging; logging.getLogger("twostep.twofa").debug("code %s for %s", code, target)\n',
    S + "test_leakage.py",
)
mut(
    "send-period",
    "login send once per period per user+provider",
    "services/twofa_login.py",
    "capacity=1, period_s=settings.min_send_period",
    "capacity=100, period_s=settings.min_send_period",
    S + "test_sms_email_abuse.py",
)
mut(
    "send-caps",
    "send caps (per user/destination/client/block/country/global)",
    "services/twofa_notify.py",
    "    check_send_allowed(c, **kwargs)\n",
    "    return\n",
    S + "test_sms_email_abuse.py " + S + "test_client_ip_spoofing.py",
)
mut(
    "email-validation",
    "email is one plain addr-spec",
    "domain/contacts.py",
    "return isinstance(value, str) and len(value) <= 255 and _EMAIL.fullmatch(value) is not None",
    "return isinstance(value, str) and '@' in value",
    S + "test_sms_email_abuse.py",
)
mut(
    "e164-ascii",
    "E.164 with ASCII digits, whole value",
    "domain/contacts.py",
    '_E164 = re.compile(r"\\+[1-9][0-9]{1,14}")',
    '_E164 = re.compile(r"\\+[1-9]\\d{1,14}")',
    S + "test_sms_email_abuse.py",
)
mut(
    "host-header",
    "mail links never from the Host header",
    "web/requests.py",
    '    host, port = request.scope.get("server") or ("127.0.0.1", 8080)\n    host = f"[{host}]" if ":" in str(host) else host\n    return f"http://{host}:{port}"',
    '    return f"{request.url.scheme}://{request.url.netloc}"',
    S + "test_sms_email_abuse.py",
)
mut(
    "enforce-order",
    "a user with 2FA gets the pre-verification token even under enforcement",
    "services/twofa_login.py",
    "    if pruned(c, user.id, configs, settings):\n        scope = Authority.PRE_VERIFICATION_TOKEN\n    elif settings is not None and settings.enforce:",
    "    if settings is not None and settings.enforce and is_enforced(c.db.engine.connect(), settings, user):\n        scope = Authority.MFA_CONFIGURATION_TOKEN\n    elif pruned(c, user.id, configs, settings):\n        scope = Authority.PRE_VERIFICATION_TOKEN\n    elif False:",
    S + "test_flow_bypass.py",
)
mut(
    "change-notice",
    "adding/removing factors notifies the owner",
    "services/twofa_notify.py",
    "def changed(c: Container, user: Any, change: str, client: Any) -> None:\n",
    "def changed(c: Container, user: Any, change: str, client: Any) -> None:\n    return\n",
    S + "test_mfa_management.py " + S + "test_flow_bypass.py",
)
mut(
    "scrub-ascii-only",
    "the log-scrubbing shortcut is taken for ASCII texts only",
    "logging_setup.py",
    "    if text.isascii():\n",
    "    if True:\n",
    "tests/production/test_observability.py",
)
mut(
    "scrub-triggers",
    "the log-scrubbing shortcut knows a substring every pattern needs",
    "logging_setup.py",
    '"authorization", "cookie")',
    '"authorization")',
    "tests/production/test_observability.py",
)

mut(
    "reauth-recent",
    "changing 2FA needs a sign-in at most reauth_window_s old",
    "web/deps.py",
    "    return at is not None and now_ms() - at <= container.config.reauth_window_s * 1000\n",
    "    return True\n",
    S + "test_mfa_management.py",
)
mut(
    "reauth-first-of-family",
    "a refresh does not renew the sign-in (the family's first session dates it)",
    "services/tokens.py",
    '            select(_FAMILY.label("family"), first.c.created_time.label("began"))\n'
    "            .select_from(s.outerjoin(first, first.c.id == _FAMILY))\n",
    '            select(_FAMILY.label("family"), first.c.created_time.label("began"))\n'
    "            .select_from(s.outerjoin(first, first.c.id == s.c.id))\n",
    S + "test_mfa_management.py",
)
mut(
    "reauth-admin-reset",
    "an administrator's 2FA reset needs a recent sign-in too",
    "web/routes/twofa_config.py",
    "    principal: RecentAdmin,\n",
    "    principal: Admin,\n",
    S + "test_mfa_management.py",
)

mut(
    "reauth-own-email",
    "changing an email address needs a recent sign-in",
    "services/users.py",
    "                and not signed_in_recently()\n",
    "                and False\n",
    S + "test_mfa_management.py",
)

mut(
    "reauth-password-change",
    "a password change does not renew the sign-in",
    "services/auth.py",
    "            family_id=sign_in.family if sign_in else None,\n",
    "            family_id=None,\n",
    S + "test_mfa_management.py",
)

mut(
    "logout-others",
    "signing out everywhere else ends the other sign-ins, not the caller's",
    "services/tokens.py",
    "            live.append(_FAMILY != keep_family)\n",
    "            live.append(_FAMILY == keep_family)\n",
    S + "test_sessions.py",
)

mut(
    "reauth-logout-others",
    "signing out everywhere else needs a recent sign-in",
    "web/routes/auth.py",
    "    principal: RecentAnyUserForSessions, container: ContainerDep, client: ClientDep\n",
    "    principal: AnyUser, container: ContainerDep, client: ClientDep\n",
    S + "test_sessions.py",
)


mut(
    "end-sign-in-owner",
    "one can end only one's own sign-ins",
    "services/tokens.py",
    "                t.auth_session.c.user_id == user_id,\n                _FAMILY == family,\n",
    "                _FAMILY == family,\n",
    S + "test_sessions.py",
)

mut(
    "sign-ins-owner",
    "one sees only one's own sign-ins",
    "services/tokens.py",
    "            .where(s.c.user_id == user_id, s.c.revoked.is_(False), s.c.expires_at > now_ms())\n",
    "            .where(s.c.revoked.is_(False), s.c.expires_at > now_ms())\n",
    S + "test_sessions.py",
)

mut(
    "end-sign-in-family",
    "ending a sign-in ends every pair refreshed from it",
    "services/tokens.py",
    "                t.auth_session.c.user_id == user_id,\n                _FAMILY == family,\n",
    "                t.auth_session.c.user_id == user_id,\n                t.auth_session.c.id == family,\n",
    S + "test_sessions.py",
)

mut(
    "reauth-end-sign-in",
    "ending one sign-in needs a recent sign-in",
    "web/routes/auth.py",
    "    principal: RecentAnyUserForSessions, container: ContainerDep, client: ClientDep, signInId: str\n",
    "    principal: AnyUser, container: ContainerDep, client: ClientDep, signInId: str\n",
    S + "test_sessions.py",
)


mut(
    "password-blocklist",
    "common and context passwords are refused",
    "services/auth.py",
    "    problems += password_blocklist.problems(password, email)\n",
    "",
    S + "test_password_blocklist.py",
)

mut(
    "password-blocklist-activation-email",
    "activation refuses a password made of the user's email",
    "services/auth.py",
    "    _check_new_password(c, settings, password, None, email)\n",
    "    _check_new_password(c, settings, password, None, None)\n",
    S + "test_password_blocklist.py",
)


mut(
    "sign-in-max-age-refresh",
    "a refresh is refused once the sign-in is past its maximum age",
    "services/tokens.py",
    "                raise TokenExpired()  # the sign-in is over, however recently it was refreshed\n",
    "                pass\n",
    S + "test_session_lifetime.py",
)

mut(
    "sign-in-max-age-cap",
    "pairs end with the sign-in they continue",
    "services/tokens.py",
    "            refresh_exp, access_exp = min(refresh_exp, ends), min(access_exp, ends)\n",
    "            pass\n",
    S + "test_session_lifetime.py",
)


mut(
    "admin-sign-out-permission",
    "only someone who administers a user may sign them out everywhere",
    "services/user_accounts.py",
    "        row = load(conn, caller, user_id, Operation.WRITE)\n        ended = TokenService.revoke_user(conn, user_id)\n",
    "        row = users_repo.by_id(conn, user_id)\n        ended = TokenService.revoke_user(conn, user_id)\n",
    S + "test_sessions.py",
)


mut(
    "password-failure-cap",
    "no limit in the settings still locks after 100 wrong passwords",
    "services/auth.py",
    "        return configured\n    return PASSWORD_FAILURES_CAP\n",
    "        return configured\n    return 10**9\n",
    S + "test_password_guessing.py",
)

mut(
    "change-password-counts",
    "a wrong current password on a change counts as a failed login",
    "services/auth.py",
    '        if _password_failure(c, row, settings, data, "CREDENTIALS_UPDATED") == LOCKED:\n'
    "            raise AuthenticationFailed(LOCKED)\n",
    "",
    S + "test_password_guessing.py",
)

# -- issue 15 §5: malformed input (rows 90-99) --------------------------------------------------
mut(
    "json-lone-surrogates",
    "JSON text must be Unicode: lone surrogates refused before any route",
    "web/strict_json.py",
    "    if not text.isascii():\n",
    "    if False:\n",
    S + "test_malformed_input.py",
)
mut(
    "json-depth-limit",
    "JSON nested deeper than 32 levels refused",
    "web/strict_json.py",
    "            if depth >= MAX_DEPTH:\n",
    "            if False:\n",
    S + "test_malformed_input.py",
)
mut(
    "json-int64-range",
    "JSON integers beyond int64 refused",
    "web/strict_json.py",
    "    if not INT64_MIN <= value <= INT64_MAX:\n",
    "    if False:\n",
    S + "test_malformed_input.py",
)
mut(
    "json-nul",
    "NUL characters in JSON text refused",
    "web/strict_json.py",
    '    if "\\x00" in text:\n',
    "    if False:\n",
    S + "test_malformed_input.py",
)
mut(
    "address-nul",
    "NUL characters in the path and query string refused",
    "web/input_guard.py",
    "        return NUL_IN_REQUEST\n",
    "        return None\n",
    S + "test_malformed_input.py",
)
mut(
    "query-int64",
    "integer query parameters bounded to int64",
    "web/params.py",
    "Query(ge=INT64_MIN, le=INT64_MAX)",
    "Query()",
    S + "test_malformed_input.py",
)
mut(
    "claims-wrong-type",
    "signed tokens with claims of the wrong type are a 401",
    "services/tokens.py",
    "        except (LookupError, TypeError, ValueError, AttributeError, OverflowError):\n",
    "        except (KeyError, IndexError, TypeError, ValueError):\n",
    S + "test_malformed_input.py",
)
mut(
    "pending-upsert",
    "pending enrollment state written with one upsert (parallel generate/submit)",
    "services/twofa_pending.py",
    """    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[t.twofa_pending.c.user_id, t.twofa_pending.c.provider_type],
            set_={name: statement.excluded[name] for name in _STATE},
        )
    )
""",
    """    conn.execute(
        t.twofa_pending.delete().where(
            t.twofa_pending.c.user_id == user_id, t.twofa_pending.c.provider_type == provider
        )
    )
    conn.execute(statement)
""",
    S + "test_enrollment_races.py",
    backends="postgresql",
)
mut(
    "check-rate-bounds",
    "check rate limit bounded when saved",
    "domain/twofa/platform.py",
    "    elif rate is not None and not _within_rate_bounds(rate):\n",
    "    elif False:\n",
    S + "test_settings_bounds.py",
)
mut(
    "check-rate-clamped-on-read",
    "a stored unbounded check rate limit is read clamped",
    "domain/twofa/platform.py",
    "    if isinstance(rate, str) and _RATE.fullmatch(rate) and not _within_rate_bounds(rate):\n",
    "    if False:\n",
    S + "test_settings_bounds.py",
)
# Further defences of the same section (run, not numbered: 90-99 is the section's range).
mut(
    "json-recursion",
    "JSON nested beyond the parser's recursion refused (3,000 levels)",
    "web/strict_json.py",
    "    except RecursionError:\n",
    "    except MemoryError:\n",
    S + "test_malformed_input.py",
)
mut(
    "data-error-400",
    "database data exceptions answer 400 (second layer)",
    "web/errors.py",
    "    @app.exception_handler(DataError)\n",
    "",
    S + "test_malformed_input.py",
)
mut(
    "settings-key-length",
    "admin settings keys at most 255 characters",
    "services/admin_settings.py",
    "    if len(key) > MAX_KEY_LENGTH:",
    "    if False:",
    S + "test_malformed_input.py",
)
mut(
    "test-sms-provider-type",
    "a test SMS of an unknown provider type is a 400",
    "services/admin_settings.py",
    '    if provider.get("type") not in SMS_PROVIDER_TYPES:\n',
    "    if False:\n",
    S + "test_settings_bounds.py",
)
mut(
    "security-settings-bounds",
    "password policy numbers bounded",
    "domain/security_settings.py",
    "            elif value is not None and value > _POLICY_MAXIMUM[key]:\n",
    "            elif False:\n",
    S + "test_settings_bounds.py",
)
mut(
    "smpp-port-range",
    "SMPP port 1..65535",
    "channels/smpp.py",
    "            if not 0 < self._port < 65536:",
    "            if False:",
    S + "test_settings_bounds.py",
)


def main(only):
    results = []
    for m in M:
        if only and m["id"] not in only:
            continue
        if not m["tests"]:
            continue
        path = SRC / m["file"]
        original = path.read_text()
        n = original.count(m["old"])
        if n != m["count"]:
            results.append({**m, "status": f"NOT APPLIED (found {n})"})
            print(m["id"], "NOT APPLIED", n, flush=True)
            continue
        path.write_text(original.replace(m["old"], m["new"]))
        try:
            env = dict(
                os.environ, TWOSTEP_TEST_BACKENDS=m["backends"], PYTHONPATH=str(ROOT / "src")
            )
            cmd = f"{ROOT}/.venv/bin/pytest -q -p no:warnings -p no:cacheprovider -x --tb=no -rf {m['tests']}"
            p = subprocess.run(
                cmd,
                check=False,
                shell=True,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            failed = [
                l.split(" ", 1)[1].split(" - ")[0]
                for l in p.stdout.splitlines()
                if l.startswith(("FAILED ", "ERROR "))
            ]
            status = (
                "KILLED"
                if p.returncode != 0 and failed
                else ("SURVIVED" if p.returncode == 0 else f"rc={p.returncode}")
            )
            results.append(
                {
                    **m,
                    "status": status,
                    "failed": failed,
                    "tail": p.stdout.strip().splitlines()[-1:],
                }
            )
            print(m["id"], status, failed[:2], p.stdout.strip().splitlines()[-1:], flush=True)
        finally:
            path.write_text(original)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(set(sys.argv[1:]))
