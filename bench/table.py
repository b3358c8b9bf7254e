#!/usr/bin/env python3
"""Prints bench/run.sh's figures as one Markdown table of figures, ratios and targets."""
import argparse
import datetime
import platform


def main():
    p = argparse.ArgumentParser()
    p.add_argument("figures")
    p.add_argument("--cores", type=int, required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("--command", required=True)
    a = p.parse_args()
    fig = {}
    with open(a.figures) as f:
        for line in f:
            key, value = line.rstrip("\n").split("\t")
            fig[key] = float(value)

    rows = []

    def row(figure, value, unit, ratio=None, target=None, ok=None):
        rows.append((figure, value, unit, ratio, target, ok))

    def rate(key):
        return fig.get(key + ".rps")

    ceiling_check = rate("ceiling.check_session")
    ceiling_hello = rate("ceiling.hello")
    flask_check = rate("flask.check_session")
    login_ceiling = a.cores / (fig["hash.ms"] / 1000)

    for backend in ("sqlite", "postgres"):
        if rate(f"{backend}.check_session") is None:
            continue
        b = backend
        check = rate(f"{b}.check_session")
        floor = 0.6 if b == "sqlite" else 0.5
        r = check / ceiling_check
        row(f"check_session, cookie, c=64 ({b})", check, "req/s",
            f"{r:.2f}× axum check_session", f"≥ {floor}×", r >= floor)
        if flask_check and b == "sqlite":
            r = check / flask_check
            row("  … against Flask (sync)", check, "req/s", f"{r:.1f}× Flask", "≥ 25×", r >= 25)
        many = rate(f"{b}.check_session_many")
        row(f"check_session over 10,000 distinct sessions ({b})", many, "req/s",
            f"{many / check:.2f}× one session", None, None)
        me = rate(f"{b}.me_bearer")
        r = me / ceiling_hello
        row(f"/api/me, Bearer EdDSA, c=64 ({b})", me, "req/s", f"{r:.2f}× axum /hello", "≥ 0.6×", r >= 0.6)
        hz = rate(f"{b}.healthz")
        r = hz / ceiling_hello
        row(f"/healthz, c=64 ({b})", hz, "req/s", f"{r:.2f}× axum /hello", "≥ 0.85×", r >= 0.85)
        login = rate(f"{b}.login")
        r = login / login_ceiling
        row(f"logins/s, c=64 ({b})", login, "/s",
            f"{r:.2f}× {a.cores} threads / {fig['hash.ms']:.1f} ms", "≥ 0.9×", r >= 0.9)
        alone, flood = rate(f"{b}.check_alone"), rate(f"{b}.check_flood")
        r = flood / alone
        row(f"check_session during a login flood, c=16 ({b})", flood, "req/s",
            f"{r:.2f}× alone ({alone:,.0f})", "≥ 0.6×", r >= 0.6)
        pa, pf = fig[f"{b}.check_alone.p99"], fig[f"{b}.check_flood.p99"]
        r = pf / pa
        row(f"  … its p99 ({b})", pf, "ms", f"{r:.2f}× alone ({pa:.2f} ms)", "≤ 3×", r <= 3)
        big = rate(f"{b}.check_session_1m")
        if big is not None:
            r = big / check
            row(f"check_session with 1,000,000 users and sessions ({b})", big, "req/s",
                f"{r:.2f}× with the small database", "≥ 0.9×", r >= 0.9)
            many_big = rate(f"{b}.check_session_many_1m")
            row(f"  … over 10,000 distinct sessions ({b})", many_big, "req/s",
                f"{many_big / many:.2f}× with the small database", None, None)
        for key, label, limit in (("rss_idle", "idle", 20), ("rss_load", "under c=64", 60), ("rss_1m", "with 1M sessions", 150)):
            v = fig.get(f"{b}.{key}")
            if v is not None:
                row(f"resident memory {label} ({b})", v, "MiB", None, f"≤ {limit} MiB", v <= limit)

    row("axum /hello, c=64 (ceiling)", ceiling_hello, "req/s")
    row("axum in-memory check_session, c=64 (ceiling)", ceiling_check, "req/s")
    if flask_check:
        row("Flask check_session, c=64 (gunicorn sync)", flask_check, "req/s")
        if rate("flask.login") is not None:
            row("Flask logins/s, c=64", rate("flask.login"), "/s")

    print(f"latchkey bench, {datetime.date.today().isoformat()}, {platform.machine()} "
          f"{a.machine}, `{a.command}`\n")
    print("| figure | value | ratio | target | met |")
    print("|---|---:|---|---|---|")
    for figure, value, unit, ratio, target, ok in rows:
        shown = f"{value:,.0f} {unit}" if unit in ("req/s", "/s") else f"{value:,.2f} {unit}"
        met = "" if ok is None else ("yes" if ok else "**no**")
        print(f"| {figure} | {shown} | {ratio or ''} | {target or ''} | {met} |")


if __name__ == "__main__":
    main()
