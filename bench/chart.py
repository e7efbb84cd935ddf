"""Draws the benchmark chart from a results JSON (runs with bench/.venv-tools/bin/python).

chart.py RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def val(r: dict, key: str, field: str = "ok_per_s") -> float:
    return float(r.get(key, {}).get(field, 0) or 0)


def bars(ax, labels, values, colors, fmt="{:.0f}"):  # type: ignore[no-untyped-def]
    b = ax.bar(labels, values, color=colors)
    for rect, v in zip(b, values):
        ax.annotate(
            fmt.format(v),
            (rect.get_x() + rect.get_width() / 2, rect.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.tick_params(axis="x", labelsize=8)


def main() -> None:
    r = json.load(open(sys.argv[1]))
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    m = r.get("machine", {})
    fig.suptitle(
        f"twostep benchmarks ({r.get('mode')} run, {r.get('started_utc')}) — {m.get('cores')} cores "
        f"{m.get('cpu', '')[:40]}, load avg at start {m.get('loadavg_at_start', ['?'])[0]}; "
        "client (wrk) on the same cores",
        fontsize=10,
    )

    ax = axes[0][0]
    bound = val(r, "argon2", "per_s")
    labels = [
        "argon2id bound\n(all cores)",
        "full login\nSQLite",
        "full login\nPG + Redis",
        "privacyIDEA\nPIN+TOTP check",
    ]
    values = [bound, val(r, "login_sqlite"), val(r, "login_pg"), val(r, "pi")]
    bars(ax, labels, values, ["#888888", "#1f77b4", "#2ca02c", "#d62728"])
    if bound:
        ax.axhline(0.8 * bound, color="#555555", ls="--", lw=1)
        ax.annotate("target: 0.8 × bound", (3.4, 0.8 * bound), fontsize=8, ha="right", va="bottom")
    ax.set_ylabel("per second")
    ax.set_title("1, 2, 4: password + TOTP logins per second", fontsize=10)

    ax = axes[0][1]
    labels = [
        "/healthz\nSQLite setup",
        "2FA check\nSQLite",
        "/healthz\nPG setup",
        "2FA check\nPG + Redis",
    ]
    values = [
        val(r, "ceiling_sqlite"),
        val(r, "check_sqlite"),
        val(r, "ceiling_pg"),
        val(r, "check_pg"),
    ]
    bars(ax, labels, values, ["#888888", "#1f77b4", "#888888", "#2ca02c"])
    for x, ceil in ((0.5, values[0]), (2.5, values[2])):
        if ceil:
            ax.hlines(0.5 * ceil, x - 0.9, x + 0.9, color="#555555", ls="--", lw=1)
    ax.set_ylabel("requests per second")
    ax.set_title(
        "3: second-step checks vs the bare endpoint (dashed: half the ceiling)", fontsize=10
    )

    ax = axes[1][0]
    small, large = r.get("scale_small", {}), r.get("scale_large", {})
    ns = f"{small.get('enrolled_users', 0):,}"
    nl = f"{large.get('enrolled_users', 0):,}"
    labels = [f"p50\n{ns} users", f"p50\n{nl} users", f"p99\n{ns} users", f"p99\n{nl} users"]
    values = [
        small.get("p50_ms", 0),
        large.get("p50_ms", 0),
        small.get("p99_ms_median", small.get("p99_ms", 0)),
        large.get("p99_ms_median", large.get("p99_ms", 0)),
    ]
    bars(ax, labels, values, ["#2ca02c", "#98df8a", "#2ca02c", "#98df8a"], fmt="{:.1f}")
    ax.set_ylabel("ms")
    ax.set_title(
        f"5: check latency in PostgreSQL, {ns} vs {nl} enrolled users\n"
        f"(wrk -c{r.get('plan', {}).get('check_conns')}, median of "
        f"{len(large.get('rounds', [])) or 1} alternating runs each)",
        fontsize=10,
    )

    ax = axes[1][1]
    keys = [
        ("login_sqlite", "login\nSQLite"),
        ("check_sqlite", "check\nSQLite"),
        ("login_pg", "login\nPG"),
        ("check_pg", "check\nPG"),
        ("scale_large", f"check PG\n{r.get('scale_large', {}).get('enrolled_users', 0):,} users"),
        ("pi", "privacyIDEA"),
    ]
    labels, values, colors = [], [], []
    if "16" in r.get("login_pg_sweep", {}):
        r = dict(r, login_pg_16=r["login_pg_sweep"]["16"])
        keys.insert(3, ("login_pg_16", "login PG\n16 conns"))
    for k, label in keys:
        rss = r.get(k, {}).get("worker_rss_mib_max") or []
        if rss:
            labels.append(label)
            values.append(max(rss))
            colors.append("#d62728" if k == "pi" else "#9467bd")
    bars(ax, labels, values, colors)
    ax.set_ylabel("MiB (max over the run, largest worker)")
    ax.set_title("6: resident memory per worker under load", fontsize=10)

    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
