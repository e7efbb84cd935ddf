"""Multi-edit mutations (a defence with a second layer behind it: both layers removed)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("TWOSTEP_MUT_ROOT") or os.environ.get("TWOSTEP_MUTATION_ROOT", "/tmp/mut"))
SRC = ROOT / "src/twostep"
S = "tests/security/"
M = [
    {
        "id": "backup-user-binding",
        "defence": "backup code bound to its user (hash scope + config_id)",
        "edits": [
            ("providers/backup_code.py", 'return f"backup:{user_id}"', 'return "backup"'),
            (
                "services/twofa/config_store.py",
                "                t.backup_code.c.config_id == spec.config_id,\n",
                "",
            ),
        ],
        "tests": S + "test_flow_bypass.py",
        "backends": "sqlite",
    },
    {
        "id": "login-code-attempt-binding",
        "defence": "login code bound to its login attempt (hash scope + row)",
        "edits": [
            (
                "providers/delivered_code.py",
                'return f"login:{attempt_id}:{provider.value}:{target}"',
                'return f"login:{provider.value}:{target}"',
            ),
            ("services/twofa/config_store.py", "                la.id == spec.attempt_id,\n", ""),
        ],
        "tests": S + "test_flow_bypass.py",
        "backends": "sqlite",
    },
    {
        "id": "setup-destination-binding",
        "defence": "setup code bound to its destination (hash scope + target check)",
        "edits": [
            (
                "providers/delivered_code.py",
                'return f"setup:{user_id}:{provider.value}:{target}"',
                'return f"setup:{user_id}:{provider.value}"',
            ),
            ("providers/delivered_code.py", " or pending.target != target:", ":"),
        ],
        "tests": S + "test_mfa_management.py",
        "backends": "sqlite",
    },
    {
        "id": "secret-sealed",
        "defence": "TOTP secrets encrypted at rest (AES-GCM)",
        "edits": [
            (
                "crypto.py",
                "        return self.PREFIX + base64.b64encode(nonce + sealed).decode()",
                "        return self.PREFIX + plaintext",
            ),
            (
                "crypto.py",
                "        raw = base64.b64decode(token[len(self.PREFIX) :])",
                "        return token[len(self.PREFIX) :]\n        raw = b''",
            ),
        ],
        "tests": S
        + "test_backup_codes.py::test_database_dump_holds_no_code_secret_token_or_password",
        "backends": "sqlite",
    },
    {
        "id": "over-limit-guard",
        "defence": "no evaluation once the count passed the limit",
        "edits": [
            (
                "services/twofa/second_step.py",
                "if count is not None and count <= settings.max_failures:",
                "if count is not None:",
            ),
            # The lock commits with the count that reaches the limit, so later requests already
            # find the credentials disabled: that first layer goes too.
            (
                "services/twofa/second_step.py",
                '    .where(_uc.user_id == bindparam("b_user"), _uc.enabled.is_(True))\n',
                '    .where(_uc.user_id == bindparam("b_user"))\n',
            ),
        ],
        "tests": S + "test_race_evaluations.py",
        "backends": "sqlite,postgresql",
    },
    {
        "id": "revoke-lockout",
        "defence": "a 2FA lockout ends every session of the user",
        "edits": [
            ("services/twofa/second_step.py", "        c.tokens.revoke_user(conn, user.id)\n", ""),
            ("services/sessions/tokens.py", " and row.expires_at > now_ms() and row.enabled\n", " and row.expires_at > now_ms()\n"),
        ],
        "tests": S + "test_sessions.py",
        "backends": "sqlite",
    },
    {
        "id": "config-token-own-attempt",
        "defence": "a configuration token sets up only its own attempt's first methods",
        "edits": [
            ("services/twofa/change_guard.py", "    tokens.end_login_attempts(conn, claims.user_id, keep=keep)\n", ""),
            ("services/twofa/change_guard.py", "        if has_methods and not attempt.enrolled:\n", "        if False:\n"),
        ],
        "tests": S + "test_stale_states.py",
        "backends": "sqlite",
    },
    {
        "id": "config-login-own-attempt",
        "defence": "POST /api/auth/2fa/login succeeds only for the attempt that set 2FA up",
        "edits": [
            ("services/twofa/change_guard.py", "    tokens.end_login_attempts(conn, claims.user_id, keep=keep)\n", ""),
            ("services/twofa/second_step.py", "        t.login_attempt.c.enrolled.is_(True),\n", ""),
        ],
        "tests": S + "test_stale_states.py",
        "backends": "sqlite",
    },
    {
        "id": "lockout-beats-refresh",
        "defence": "a refresh racing a lockout never leaves a working pair",
        "edits": [
            ("services/sessions/tokens.py", "            if not lock_credentials(conn, user.id):\n", "            if False:\n"),
            ("services/sessions/tokens.py", " and row.expires_at > now_ms() and row.enabled\n", " and row.expires_at > now_ms()\n"),
        ],
        "tests": S + "test_lockout_oracle.py::test_refreshes_racing_a_lockout_never_leave_a_working_pair",
        "backends": "postgresql",
    },
    {
        "id": "credentials-first",
        "defence": "every revocation takes the user's credentials row first (no deadlock with a check)",
        "edits": [
            ("services/sessions/tokens.py", "        lock_credentials(conn, user_id)  # first, as every transaction that changes the user does\n", ""),
        ],
        "tests": S + "test_decisions_in_flight.py::test_deleting_a_user_while_their_second_step_is_checked_is_no_deadlock",
        "backends": "postgresql",
    },
    {
        "id": "grace-no-revival-after-logout",
        "defence": "a logout ends the refresh grace (successor live, and the seal dropped)",
        "edits": [
            ("services/sessions/tokens.py", "                successor.c.revoked.is_(False),\n", ""),
            (
                "services/sessions/tokens.py",
                '_NO_SUCCESSOR = {"successor_id": None, "successor_enc": None}\n',
                '_NO_SUCCESSOR = {"client_ip": None}\n',  # the successor kept whole
            ),
        ],
        "tests": S + "test_refresh_grace.py::test_logout_ends_the_grace",
        "backends": "sqlite",
    },
]


def main(only):
    out = []
    for m in M:
        if only and m["id"] not in only:
            continue
        originals = {}
        ok = True
        for f, old, new in m["edits"]:
            p = SRC / f
            originals.setdefault(p, p.read_text())
            text = p.read_text()
            if text.count(old) != 1:
                ok = False
                print(m["id"], "NOT APPLIED", f, text.count(old))
                break
            p.write_text(text.replace(old, new))
        try:
            if not ok:
                continue
            env = dict(
                os.environ, TWOSTEP_TEST_BACKENDS=m["backends"], PYTHONPATH=str(ROOT / "src")
            )
            cmd = f"{ROOT}/.venv/bin/pytest -q -p no:warnings -p no:cacheprovider --tb=no -rf {m['tests']}"
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
            print(m["id"], status, failed[:3], p.stdout.strip().splitlines()[-1:], flush=True)
            out.append({"id": m["id"], "status": status, "failed": failed})
        finally:
            for p, text in originals.items():
                p.write_text(text)
    (ROOT / "mutation-results-layered.json").write_text(json.dumps(out, indent=1))


main(set(sys.argv[1:]))
