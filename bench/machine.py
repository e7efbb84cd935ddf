"""Process and machine accounting from /proc: CPU time and resident memory of a process, its
children, the PostgreSQL backends of a database, the machine's busy time, and what the machine is."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

CLK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def proc_rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(x) for x in text]
    except FileNotFoundError:
        pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def pids_matching(*needles: str) -> list[int]:
    """Processes whose command line contains one of the needles (read-only /proc scan), e.g. the
    PostgreSQL backends serving the bench database ("postgres: postgres twostep_bench ...")."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            cl = cmdline(int(d.name))
            if any(n in cl for n in needles):
                out.append(int(d.name))
    return out


def pg_sessions(db: str) -> int | None:
    """Connections ever opened to the bench database (pg_stat_database.sessions, PostgreSQL 14+)."""
    try:
        r = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-Atc",
                f"SELECT sessions FROM pg_stat_database WHERE datname = '{db}'",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return int(r.stdout.strip()) if r.stdout.strip() else None
    except Exception:
        return None


def machine_cpu() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts), idle


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine_info() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])

    def version(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception:
            return "?"

    os_name = "?"
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": version(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]
        ),
        "redis": version(["redis-server", "--version"]),
        "wrk": version(["wrk", "-v"]),
        "loadavg_at_start": loadavg(),
    }
