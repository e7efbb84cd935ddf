"""privacyIDEA 3.14 set-up for the benchmark; runs with bench/.venv-pi/bin/python.

    pi.py setup DIR            config (argon2id m=19456 t=2 p=1 for PINs), keys, tables, admin, realm
    pi.py enrol BASE_URL N     users p0000000.. with a TOTP token each (PIN 1234), over the REST API

As shared/ecosystem.md §2.2-2.3 (exact commands that worked on this machine). The TOTP secret of
user i is derived as in bench/seed.py, so the orchestrator computes codes without a secrets file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PIN = "1234"
ADMIN_PASSWORD = "AdminPass-123"


def secret(i: int) -> str:
    return base64.b32encode(hashlib.sha1(f"twostep-bench-{i}".encode()).digest()).decode()


def user(i: int) -> str:
    return f"p{i:07d}"


def setup(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "pi.cfg").write_text(
        f"""SUPERUSER_REALM = ['super']
SQLALCHEMY_DATABASE_URI = 'sqlite:///{d}/data.sqlite'
SECRET_KEY = 'bench-only-secret-key-0123456789'
PI_PEPPER = 'bench-only-pepper'
PI_ENCFILE = '{d}/enckey'
PI_AUDIT_KEY_PRIVATE = '{d}/private.pem'
PI_AUDIT_KEY_PUBLIC = '{d}/public.pem'
PI_LOGFILE = '{d}/privacyidea.log'
PI_LOGLEVEL = 30
PI_HASH_ALGO_PARAMS = {{'argon2__rounds': 2, 'argon2__memory_cost': 19456, 'argon2__parallelism': 1}}
"""
    )
    (d / "pi_wsgi.py").write_text(
        "from privacyidea.app import create_app\n"
        f'application = create_app(config_name="production", config_file="{d}/pi.cfg", silent=True)\n'
    )
    env = {**os.environ, "PRIVACYIDEA_CONFIGFILE": str(d / "pi.cfg")}
    pm = str(Path(sys.executable).parent / "pi-manage")
    for args in (
        ["setup", "create_enckey"],
        ["setup", "create_audit_keys"],
        ["setup", "create_tables"],
        ["admin", "add", "admin", "-p", ADMIN_PASSWORD],
        ["config", "resolver", "create_internal", "reso1"],
        ["config", "realm", "create", "realm1", "reso1"],
        ["config", "realm", "set_default", "realm1"],
    ):
        subprocess.run([pm, *args], env=env, check=True, capture_output=True)


def enrol(base: str, n: int) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=120) as c:
        r = c.post("/auth", json={"username": "admin", "password": ADMIN_PASSWORD})
        r.raise_for_status()
        headers = {"Authorization": r.json()["result"]["value"]["token"]}

    def one(i: int) -> None:
        with httpx.Client(base_url=base, timeout=120, headers=headers) as c:
            u = user(i)
            r = c.post(
                "/user/",
                json={
                    "user": u,
                    "resolver": "reso1",
                    "password": "pw-" + u,
                    "email": f"{u}@example.org",
                },
            )
            r.raise_for_status()
            r = c.post(
                "/token/init",
                json={
                    "type": "totp",
                    "user": u,
                    "realm": "realm1",
                    "otpkey": base64.b32decode(secret(i)).hex(),
                    "otplen": 6,
                    "timeStep": 30,
                    "hashlib": "sha1",
                    "pin": PIN,
                },
            )
            r.raise_for_status()
            if not r.json()["result"]["status"]:
                raise RuntimeError(r.text)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(n)))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(Path(sys.argv[2]).resolve())
    elif sys.argv[1] == "enrol":
        enrol(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
