"""Apply one mutation at a time to /tmp/mut/src, run the named tests (SQLite unless a mutant
names its backends), restore.

TWOSTEP_MUT_ROOT=/tmp/mut-other runs in another copy (several people at once);
TWOSTEP_MUT_RESULTS names the results file.

See ../MUTATIONS.md. over-limit-guard and secret-sealed are in layered.py. TWOSTEP_MUT_ROOT names
another copy than /tmp/mut (two people mutating at once), TWOSTEP_MUT_RESULTS another results
file than /tmp/mutwork/results.json."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("TWOSTEP_MUT_ROOT") or os.environ.get("TWOSTEP_MUTATION_ROOT", "/tmp/mut"))
RESULTS = Path(os.environ.get("TWOSTEP_MUT_RESULTS", str(ROOT / "mutation-results.json")))

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
    "services/twofa/config_store.py",
    '_tc.last_used_step.is_(None) | (_tc.last_used_step < bindparam("b_step")),',
    '_tc.id == bindparam("b_config"),',
    S + "test_totp_replay.py",
)
mut(
    "charge-first",
    "2FA failure counted (increment before the check)",
    "services/twofa/second_step.py",
    ".values(twofa_failed_attempts=_uc.twofa_failed_attempts + 1)",
    ".values(twofa_failed_attempts=_uc.twofa_failed_attempts + 0)",
    S + "test_bruteforce_lockout.py",
)
mut(
    "password-resets-2fa-count",
    "a correct password never resets the 2FA count",
    "services/signin/password_login.py",
    "    values: dict[str, Any] = {}\n",
    '    values: dict[str, Any] = {"twofa_failed_attempts": 0}\n',
    S + "test_bruteforce_lockout.py",
)
mut(
    "success-resets-only",
    "success resets the count",
    "services/twofa/second_step.py",
    '.values(twofa_failed_attempts=0, last_login_ts=bindparam("b_now"))',
    '.values(last_login_ts=bindparam("b_now"))',
    S + "test_bruteforce_lockout.py",
)
mut(
    "lockout-notice",
    "lockout tells the owner and the lockout address",
    "services/twofa/second_step.py",
    "        notices.lockout(\n",
    "        (lambda *a, **k: None)(\n",
    S + "test_bruteforce_lockout.py",
)
mut(
    "admin-unlock-reset",
    "admin unlock clears the 2FA count",
    "services/directory/user_accounts.py",
    ".values(enabled=True, failed_login_attempts=0, twofa_failed_attempts=0)",
    ".values(enabled=True, failed_login_attempts=0)",
    S + "test_bruteforce_lockout.py",
)
mut(
    "attempt-state",
    "restricted token only while its attempt is ACTIVE",
    "services/twofa/attempts.py",
    'and row.attempt_state == "ACTIVE"',
    "and True",
    S + "test_preverification_token.py",
)
mut(
    "attempt-expiry",
    "restricted token only until its attempt expires",
    "services/twofa/attempts.py",
    "and row.attempt_expires_at > now_ms()",
    "and True",
    S + "test_preverification_token.py " + S + "test_bruteforce_lockout.py",
)
mut(
    "attempt-finished-once",
    "a code completes only a still-open attempt (concurrent checks of one token)",
    "services/twofa/second_step.py",
    '        _la.state == "ACTIVE",\n        _la.expires_at > bindparam("b_now"),\n',
    "",
    S + "test_races.py",
)
mut(
    "success-clears-buckets",
    "a successful check empties the user's check bucket (database limiter)",
    "services/twofa/second_step.py",
    "                        _clear_buckets(c, user_id, settings, conn=conn)",
    "                        pass",
    "tests/api/test_twofa_login.py",
)
mut(
    "attempt-user",
    "restricted token's attempt belongs to its user",
    "services/twofa/attempts.py",
    ', _la.user_id == bindparam("b_user")',
    "",
    S + "test_preverification_token.py",
)
mut(
    "attempt-scope",
    "restricted token's attempt has its scope",
    "services/twofa/attempts.py",
    "and row.attempt_scope == claims.authority.value",
    "and True",
    S + "test_preverification_token.py",
    count=2,  # is_live and ended_by_lockout
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
    "services/sessions/jwt_codec.py",
    "self._allowed = [algorithm]",
    'self._allowed = [algorithm, "HS256"]',
    S + "test_preverification_token.py",
)
mut(
    "jwt-iss",
    "JWT issuer check",
    "services/sessions/tokens.py",
    "issuer=self.issuer,",
    "",
    S + "test_preverification_token.py",
)
mut(
    "jwt-exp-required",
    "JWT exp required",
    "services/sessions/tokens.py",
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
    "services/twofa/config_store.py",
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
    "services/twofa/enrollment.py",
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
    "services/twofa/enrollment.py",
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
    "services/signin/passwords.py",
    "        credentials.store_password(conn, user_id, new_hash, row.password_history, now_ms())\n        c.tokens.revoke_user(conn, user_id)\n",
    "        credentials.store_password(conn, user_id, new_hash, row.password_history, now_ms())\n",
    S + "test_sessions.py",
)
mut(
    "revoke-reset",
    "password reset revokes everything",
    "services/signin/passwords.py",
    "        c.tokens.revoke_user(conn, cred.user_id)\n",
    "",
    S + "test_sessions.py",
)
mut(
    "revoke-disable",
    "admin disable revokes everything",
    "services/directory/user_accounts.py",
    "            conn.execute(update(creds).where(where).values(enabled=False))\n            TokenService.revoke_user(conn, user_id)\n",
    "            conn.execute(update(creds).where(where).values(enabled=False))\n",
    S + "test_sessions.py",
)
mut(
    "revoke-logout",
    "logout revokes the login's sessions",
    "services/signin/session_control.py",
    "            c.tokens.revoke_session(conn, user_id, session_id)\n",
    "            pass\n",
    S + "test_sessions.py",
)
mut(
    "refresh-rotation",
    "refresh token works once",
    "services/sessions/tokens.py",
    ".where(s_.id == session_id, s_.revoked.is_(False), s_.expires_at > now)\n                .values(revoked=True, rotated_at=now)",
    ".where(s_.id == session_id, s_.revoked.is_(False), s_.expires_at > now)\n                .values(revoked=False, rotated_at=now)",
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
    "services/signin/password_login.py",
    "        _unknown_user_failure(c, username, failure_limit(settings))\n",
    "",
    S + "test_enumeration.py",
)
mut(
    "state-after-password",
    "account state told only after the password",
    "services/signin/password_login.py",
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
    "services/notifications/notices.py",
    '    channel = "sms" if provider == ProviderType.SMS else "email"\n',
    '    channel = "sms" if provider == ProviderType.SMS else "email"\n    import logging; logging.getLogger("twostep.twofa").debug("code %s for %s", code, target)\n',
    S + "test_leakage.py",
)
mut(
    "send-period",
    "login send once per period per user+provider",
    "services/twofa/second_step.py",
    "capacity=1, period_s=settings.min_send_period",
    "capacity=100, period_s=settings.min_send_period",
    S + "test_sms_email_abuse.py",
)
mut(
    "send-caps",
    "send caps (per user/destination/client/block/country/global)",
    "services/notifications/notices.py",
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
    "services/signin/admission.py",
    "        if configs:\n            return restricted(c, conn, user, Authority.PRE_VERIFICATION_TOKEN, settings, client)\n        if is_enforced(conn, settings, user):\n",
    "        if is_enforced(conn, settings, user):\n            return restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)\n        if configs:\n",
    S + "test_flow_bypass.py",
)
mut(
    "change-notice",
    "adding/removing factors notifies the owner",
    "services/notifications/notices.py",
    "def changed(c: Container, user: UserRecord, change: str, client: ClientSeen) -> None:\n",
    "def changed(c: Container, user: UserRecord, change: str, client: ClientSeen) -> None:\n    return\n",
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
    "services/sessions/tokens.py",
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
    "services/directory/users.py",
    "                and not signed_in_recently()\n",
    "                and False\n",
    S + "test_mfa_management.py",
)

mut(
    "reauth-password-change",
    "a password change does not renew the sign-in",
    "services/signin/passwords.py",
    "            family_id=sign_in.family if sign_in else None,\n",
    "            family_id=None,\n",
    S + "test_mfa_management.py",
)

mut(
    "logout-others",
    "signing out everywhere else ends the other sign-ins, not the caller's",
    "services/sessions/tokens.py",
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
    "services/sessions/tokens.py",
    "                t.auth_session.c.user_id == user_id,\n                _FAMILY == family,\n",
    "                _FAMILY == family,\n",
    S + "test_sessions.py",
)

mut(
    "sign-ins-owner",
    "one sees only one's own sign-ins",
    "services/sessions/tokens.py",
    "            .where(s.c.user_id == user_id, s.c.revoked.is_(False), s.c.expires_at > now_ms())\n",
    "            .where(s.c.revoked.is_(False), s.c.expires_at > now_ms())\n",
    S + "test_sessions.py",
)

mut(
    "end-sign-in-family",
    "ending a sign-in ends every pair refreshed from it",
    "services/sessions/tokens.py",
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
    "services/signin/passwords.py",
    "    problems += password_blocklist.problems(password, email)\n",
    "",
    S + "test_password_blocklist.py",
)

mut(
    "password-blocklist-activation-email",
    "activation refuses a password made of the user's email",
    "services/signin/passwords.py",
    "    check_new_password(c, settings, password, None, email)\n",
    "    check_new_password(c, settings, password, None, None)\n",
    S + "test_password_blocklist.py",
)


mut(
    "sign-in-max-age-refresh",
    "a refresh is refused once the sign-in is past its maximum age",
    "services/sessions/tokens.py",
    "                raise TokenExpired()  # the sign-in is over, however recently it was refreshed\n",
    "                pass\n",
    S + "test_session_lifetime.py",
)

mut(
    "sign-in-max-age-cap",
    "pairs end with the sign-in they continue",
    "services/sessions/tokens.py",
    "            refresh_exp, access_exp = min(refresh_exp, ends), min(access_exp, ends)\n",
    "            pass\n",
    S + "test_session_lifetime.py",
)


mut(
    "admin-sign-out-permission",
    "only someone who administers a user may sign them out everywhere",
    "services/directory/user_accounts.py",
    "        row = load(conn, caller, user_id, Operation.WRITE)\n        ended = TokenService.revoke_user(conn, user_id)\n",
    "        row = users_repo.by_id(conn, user_id)\n        ended = TokenService.revoke_user(conn, user_id)\n",
    S + "test_sessions.py",
)


mut(
    "password-failure-cap",
    "no limit in the settings still locks after 100 wrong passwords",
    "services/signin/password_login.py",
    "        return configured\n    return PASSWORD_FAILURES_CAP\n",
    "        return configured\n    return 10**9\n",
    S + "test_password_guessing.py",
)

mut(
    "change-password-counts",
    "a wrong current password on a change counts as a failed login",
    "services/signin/passwords.py",
    '        if count_password_failure(c, row, settings, data, "CREDENTIALS_UPDATED") == LOCKED:\n'
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
    "services/sessions/tokens.py",
    "        except (LookupError, TypeError, ValueError, AttributeError, OverflowError):\n",
    "        except (KeyError, IndexError, TypeError, ValueError):\n",
    S + "test_malformed_input.py",
)
mut(
    "pending-serialised",
    "a user's enrollment writes queue on the credentials row (parallel generate/submit)",
    "services/sessions/tokens.py",
    "            .where(t.user_credentials.c.user_id == user_id)\n            .with_for_update()\n",
    "            .where(t.user_credentials.c.user_id == user_id)\n",
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
    "services/administration/admin_settings.py",
    "    if len(key) > MAX_KEY_LENGTH:",
    "    if False:",
    S + "test_malformed_input.py",
)
mut(
    "test-sms-provider-type",
    "a test SMS of an unknown provider type is a 400",
    "services/administration/admin_settings.py",
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


# -- issue 15: stale states, the lockout oracle and its races ------------------------------------
mut(
    "issue-confirms-enabled",
    "tokens are issued only by a transaction that finds the credentials still enabled",
    "services/sessions/issuing.py",
    "        .where(_uc.user_id == user_id, _uc.enabled.is_(True))\n",
    "        .where(_uc.user_id == user_id)\n",
    S + "test_lockout_oracle.py",
)
mut(
    "locked-right-password-told",
    "a locked or disabled account answers the right password as a wrong one",
    "services/signin/password_login.py",
    "    if not password_ok or not row.enabled:\n",
    "    if password_ok and not row.enabled:\n        raise AuthenticationFailed(NOT_ACTIVE)\n    if not password_ok or not row.enabled:\n",
    S + "test_lockout_oracle.py",
)
mut(
    "method-added-ends-attempts",
    "a new method ends every other pending second step and configuration token",
    "services/twofa/change_guard.py",
    "    tokens.end_login_attempts(conn, claims.user_id, keep=keep)\n",
    "",
    S + "test_stale_states.py",
)
mut(
    "method-removed-ends-attempts",
    "a removed or reset method ends every pending second step and configuration token",
    "services/twofa/change_guard.py",
    "    tokens.end_login_attempts(conn, user_id)\n",
    "    pass\n",
    S + "test_stale_states.py",
)
mut(
    "pending-owner",
    "a pending enrollment is confirmed only by the sign-in that started it",
    "services/twofa/enrollment.py",
    "                t.twofa_pending.c.owner == owner,\n",
    "",
    S + "test_stale_states.py",
)
mut(
    "pending-ends-with-credentials",
    "a password change (every revocation of the user) ends pending enrollments",
    "services/sessions/tokens.py",
    "        _drop_pending(conn, user_id, keep=sign_in_owner(keep_family) if keep_family else None)\n",
    "",
    S + "test_stale_states.py",
)
mut(
    "pending-ends-with-logout",
    "signing out ends the enrollments that sign-in left pending",
    "services/sessions/tokens.py",
    "            delete(t.twofa_pending).where(t.twofa_pending.c.owner == sign_in_owner(family or session_id))\n",
    "            delete(t.twofa_pending).where(t.twofa_pending.c.owner == 'nobody')\n",
    S + "test_stale_states.py",
)
mut(
    "email-change-ends-reset-link",
    "an email change ends the reset link sent to the old address",
    "services/signin/credentials.py",
    "    conn.execute(\n        update(t.user_credentials)\n        .where(t.user_credentials.c.user_id == user_id)\n        .values(reset_token_hash=None, reset_token_exp=None)\n    )\n",
    "",
    S + "test_stale_states.py",
)
mut(
    "email-change-renews-activation",
    "an email change ends the activation link sent to the old address",
    "services/signin/credentials.py",
    "        issue_activation_token(c, conn, user_id, ttl_hours)\n",
    "        pass\n",
    S + "test_stale_states.py",
)
mut(
    "password-change-ends-reset-link",
    "a password change ends reset links issued before it",
    "services/signin/credentials.py",
    "            reset_token_hash=None,\n            reset_token_exp=None,\n        )\n",
    "        )\n",
    S + "test_stale_states.py",
)
mut(
    "check-bucket-per-user",
    "the check rate limit is one bucket per user across factors",
    "services/twofa/second_step.py",
    "                _check_bucket(user_id, settings),\n",
    "                _check_bucket(user_id, settings) + provider.value,\n",
    S + "test_bruteforce_lockout.py",
)

mut(
    "password-change-in-force",
    "a password change confirms in its transaction that the credentials are enabled and the session live",
    "services/signin/passwords.py",
    "        if not tokens.lock_credentials(conn, user_id) or not tokens.session_in_force(\n            conn, session_id\n        ):\n",
    "        if False:\n",
    S + "test_decisions_in_flight.py",
)
mut(
    "expired-answer-confirmed",
    "an expired right password gets a reset token only while the credentials are enabled",
    "services/signin/password_login.py",
    "        enabled = issuing.confirm_enabled(conn, row.id)\n",
    "        enabled = True\n",
    S + "test_decisions_in_flight.py",
)
mut(
    "reset-needs-enabled",
    "a reset link does not reset a locked account's password",
    "services/signin/passwords.py",
    "        if not tokens.lock_credentials(conn, cred.user_id):\n            raise AuthenticationFailed(NOT_ACTIVE)\n",
    "",
    S + "test_stale_states.py",
)
mut(
    "activation-fresh-count",
    "an activation starts the failure counts afresh",
    "services/signin/passwords.py",
    "                failed_login_attempts=0,\n                twofa_failed_attempts=0,\n            )\n",
    "            )\n",
    S + "test_decisions_in_flight.py",
)


mut(
    "slash-redirect-relative",
    "trailing-slash redirects carry a path, never the request's Host",
    "web/redirects.py",
    "    router.redirect_slashes = False\n",
    "    router.redirect_slashes = True\n",
    S + "test_redirects.py",
)

mut(
    "metrics-token",
    "/metrics needs the bearer token",
    "web/routes/health.py",
    '    if not _metrics_allowed(container.config.metrics_token, request.headers.get("authorization")):\n',
    "    if False:\n",
    "tests/production/test_observability.py",
)

mut(
    "reset-request-same-work",
    "the reset request does the same work for every address (no lookup before answering)",
    "services/signin/passwords.py",
    '    mail_queue.enqueue(c, PASSWORD_RESET, {"email": email, "base_url": base_url})\n',
    "    with c.db.read() as conn:\n"
    "        if users_repo.by_email(conn, email) is None:\n"
    "            return\n"
    '    mail_queue.enqueue(c, PASSWORD_RESET, {"email": email, "base_url": base_url})\n',
    S + "test_reset_enumeration.py",
)

mut(
    "reset-worker-same-work",
    "the queue's worker does the same statements for unknown addresses",
    "services/signin/passwords.py",
    "    token = issue_reset_token(c, row.id if send else NULL_UUID, settings)\n",
    '    token = issue_reset_token(c, row.id, settings) if send else "x" * 40\n',
    S + "test_reset_enumeration.py",
)

mut(
    "mail-queue-claim-exclusive",
    "a row held by a worker is not claimed by another",
    "services/records/mail_queue.py",
    '    return (_q.due_at <= bindparam("b_now")) & (\n'
    '        _q.claimed_until.is_(None) | (_q.claimed_until < bindparam("b_now"))\n'
    "    )\n",
    '    return _q.due_at <= bindparam("b_now")\n',
    "tests/api/test_mail_queue.py",
)

mut(
    "mail-queue-bounded-retries",
    "a failing mail is tried at most MAX_ATTEMPTS times",
    "services/records/mail_queue.py",
    "    if item.attempt >= MAX_ATTEMPTS:\n",
    "    if False:\n",
    "tests/api/test_mail_queue.py",
)

mut(
    "reset-limit-in-worker",
    "at most 5 reset mails an hour per address, decided by the worker",
    "services/signin/passwords.py",
    "        capacity=RESET_REQUESTS_PER_HOUR,\n",
    "        capacity=10**6,\n",
    "tests/api/test_mail_queue.py",
)

mut(
    "lockout-notice-queued",
    "the password-lockout notice is queued, not sent in the locking request",
    "services/signin/password_login.py",
    "    notices.queued_email(\n",
    "    notices.best_effort_email(\n",
    S + "test_reset_enumeration.py",
)

mut(
    "sms-number-types",
    "SMS codes go only to numbers of an allowed type (no premium-rate, VoIP...)",
    "domain/phone_numbers.py",
    "    if number.type in allowed:\n        return None\n",
    "    if True:\n        return None\n",
    S + "test_sms_number_types.py",
)

mut(
    "test-sms-number-types",
    "the administrator's test SMS follows the number policy too",
    "channels/delivery.py",
    "            if refused:\n                raise ChannelSendError",
    "            if False:\n                raise ChannelSendError",
    "tests/delivery/test_sms_number_policy.py",
)

G = S + "test_refresh_grace.py::"
mut(
    "grace-bound-to-token",
    "the refresh grace answers only the very token that was exchanged (AEAD context)",
    "services/sessions/tokens.py",
    '    return f"refresh-grace:{session_id}:{digest}"\n',
    '    return f"refresh-grace:{session_id}"\n',
    G + "test_only_the_exchanged_token_gets_the_pair_again",
)
mut(
    "grace-period-ends",
    "the refresh grace lasts TWOSTEP_REFRESH_GRACE_S only",
    "services/sessions/tokens.py",
    "                s_.rotated_at >= now - self.refresh_grace * 1000,\n",
    "                s_.rotated_at.is_not(None),\n",
    G + "test_a_reuse_after_the_grace_period_ends_the_sign_in",
)
mut(
    "grace-successor-live",
    "the refresh grace answers only while the successor's session is live",
    "services/sessions/tokens.py",
    "                successor.c.revoked.is_(False),\n",
    "",
    G + "test_the_successor_must_be_live_even_if_its_seal_was_kept " + G + "test_a_later_refresh_of_the_successor_ends_the_grace",
)
mut(
    "grace-logout-drops-seal",
    "logout (and a reuse) drop the sealed successor pair",
    "services/sessions/tokens.py",
    '_NO_SUCCESSOR = {"successor_id": None, "successor_enc": None}\n',
    '_NO_SUCCESSOR = {"successor_id": None}\n',
    G + "test_the_successor_pair_is_sealed_at_rest_and_dropped_by_revocation",
)
mut(
    "grace-revocation-drops-seal",
    "every revocation of a user (password change, lockout, disabling) drops the sealed successor pairs",
    "services/sessions/tokens.py",
    '    s_ = t.auth_session.c\n    condition = [s_.user_id == user_id, s_.successor_enc.is_not(None)]\n',
    '    return\n    s_ = t.auth_session.c\n    condition = [s_.user_id == user_id, s_.successor_enc.is_not(None)]\n',
    G + "test_a_password_change_ends_the_grace",
)
mut(
    "grace-pair-sealed",
    "the successor pair is stored sealed (AES-GCM), never in clear",
    "services/sessions/tokens.py",
    "                sealed = self._box.seal(\n",
    "                sealed = (lambda text, context: text)(\n",
    G + "test_the_successor_pair_is_sealed_at_rest_and_dropped_by_revocation",
)
mut(
    "mail-placeholder-unused",
    "the installed mail placeholder sends nothing and does not enable the email factor",
    "channels/mail_presets.py",
    "    return stored == INSTALL_DEFAULTS\n",
    "    return False\n",
    "tests/api/test_tb_compat.py::test_a_fresh_install_has_thingsboards_mail_settings",
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
