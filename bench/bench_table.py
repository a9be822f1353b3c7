#!/usr/bin/env python3
"""Prints the tables of bench/run.sh from the timings it recorded.

    bench_table.py WORK [--markdown FILE]

WORK/rows.tsv has one line per row, tab-separated:

    section  format  family  label  description  baseline  ratio_target  rss_limit_kib

and WORK/t/<format>.<label>.txt one line per timed run, "wall_s peak_rss_kib user_s sys_s"
(WORK/t/<format>.<label>.slow marks a command timed once, its warm-up: "1*" in the runs column).
A row's figures are the medians of its runs (peak RSS: the largest); its ratio is its median over
the median of its baseline (another label of the same format). A row with a ratio target and an
RSS limit gets PASS or MISS for each; rows without (the floor, the user's scripts) get "-".

Sections: "main" (the pass table), "pipeline" (--no-sign runs against cp), "records" (what the
records cost: the signed and --no-sign runs, hashing and reading the files alone), "scale".
Exit status 10 when a target is missed, else 0.
"""

import argparse
import statistics
import sys
from pathlib import Path

MIB = 1024.0


def load(work, fmt, label):
    path = Path(work) / "t" / f"{fmt}.{label}.txt"
    if not path.exists():
        return None
    runs = [tuple(float(x) for x in line.split()) for line in path.read_text().splitlines() if line.strip()]
    if not runs:
        return None
    return {"wall": statistics.median(r[0] for r in runs), "min": min(r[0] for r in runs),
            "max": max(r[0] for r in runs), "rss": max(r[1] for r in runs),
            "user": statistics.median(r[2] for r in runs), "sys": statistics.median(r[3] for r in runs), "n": len(runs)}


def rows_of(work):
    rows = []
    for line in (Path(work) / "rows.tsv").read_text().splitlines():
        if not line.strip():
            continue
        section, fmt, family, label, description, baseline, target, limit = line.split("\t")
        rows.append({"section": section, "format": fmt, "family": family, "label": label, "description": description,
                     "baseline": baseline, "target": float(target) if target else None,
                     "limit": int(limit) if limit else None})
    return rows


def evaluate(work, row):
    t = load(work, row["format"], row["label"])
    if t is None:
        return None
    base = load(work, row["format"], row["baseline"]) if row["baseline"] else None
    ratio = t["wall"] / base["wall"] if base else None
    # Beside a ratio to a durable baseline (its output fsynced), the ratio to the same without fsync.
    plain_label = {"dfloor": "floor", "pfloor": "floor", "sfloor": "floor", "dcp": "cp"}.get(row["baseline"])
    plain = load(work, row["format"], plain_label) if plain_label else None
    plain_ratio = t["wall"] / plain["wall"] if plain else None
    time_ok = rss_ok = "-"
    if row["target"] is not None and ratio is not None:
        time_ok = "PASS" if ratio <= row["target"] else "MISS"
    if row["limit"] is not None:
        rss_ok = "PASS" if t["rss"] <= row["limit"] else "MISS"
    return dict(t, ratio=ratio, plain_ratio=plain_ratio, time_ok=time_ok, rss_ok=rss_ok)


def fmt_ratio(r):
    return f"{r:.2f}x" if r is not None else "-"


def table(title, header, lines, markdown):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)] if lines else [len(h) for h in header]
    print(title)
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    for line in lines:
        print("  ".join(str(c).rjust(w) if i >= 3 and str(c)[:1].isdigit() else str(c).ljust(w)
                        for i, (c, w) in enumerate(zip(line, widths))))
    print()
    markdown.append(f"**{title}**\n")
    markdown.append("| " + " | ".join(header) + " |")
    markdown.append("|" + "|".join("---:" if i >= 3 else "---" for i in range(len(header))) + "|")
    for line in lines:
        markdown.append("| " + " | ".join(str(c) for c in line) + " |")
    markdown.append("")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    rows = rows_of(args.work)
    markdown, missed = [], False
    for section, title in [("main", "PASSES with signed records, against the durable floor cp IN OUT && sync OUT && openssl dgst -sha256 IN OUT"
                                    " (snapshot rows: also hashing PRE; statistics: also STATS); 'vs floor': against cp IN OUT && openssl dgst -sha256 IN OUT"),
                           ("scale", "SCALE, signed records, against the durable floor cp -r IN OUT && sync OUT/* && openssl dgst -sha256 (every file)"),
                           ("pipeline", "PIPELINE alone (--no-sign: no records), against cp IN OUT && sync OUT ('vs floor': against cp alone)"),
                           ("records", "WHAT THE RECORDS COST (dampen:0.01 --class 2 on the 10-unit head)")]:
        chosen = [r for r in rows if r["section"] == section]
        if not chosen:
            continue
        lines = []
        for row in chosen:
            result = evaluate(args.work, row)
            if result is None:
                lines.append([row["format"], row["family"], row["description"], "not run", "", "", "", "", "", "", "", ""])
                continue
            missed |= "MISS" in (result["time_ok"], result["rss_ok"])
            target = f"<={row['target']:g}x" if row["target"] is not None else ""
            limit = f"<={row['limit'] / MIB:.0f}" if row["limit"] is not None else ""
            slow = (Path(args.work) / "t" / f"{row['format']}.{row['label']}.slow").exists()
            runs = f"{result['n']}" + ("*" if slow else "")
            lines.append([row["format"], row["family"], row["description"], f"{result['wall']:.3f}",
                          f"{result['min']:.3f}", fmt_ratio(result["ratio"]), fmt_ratio(result["plain_ratio"]), f"{result['rss'] / MIB:.1f}",
                          f"{result['user']:.2f}+{result['sys']:.2f}", runs,
                          f"{result['time_ok']} {target}".strip(), f"{result['rss_ok']} {limit}".strip()])
        table(title, ["format", "family", "command", "median s", "min s", "ratio", "vs floor", "peak RSS MiB", "cpu user+sys s",
                      "runs", "time", "RSS MiB"], lines, markdown)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(markdown) + "\n")
    sys.exit(10 if missed else 0)


if __name__ == "__main__":
    main()
