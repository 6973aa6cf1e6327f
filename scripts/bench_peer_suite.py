#!/usr/bin/env python
"""Print the peer-suite table: edge_sampling and reparam on Mitsuba's own gradient-test
configurations (scripts/fixtures/peer_suite.py), against the cached finite differences
(tests/data/peer_fd_refs.npz, scripts/make_peer_fd_refs.py) and Mitsuba's thresholds, with
Mitsuba's projective integrator as the baseline. One command regenerates docs/integrators.md's
peer-suite table:

    PYTHONPATH=$PWD nice -n 5 python scripts/bench_peer_suite.py > /tmp/peer.md

Rerun one integrator's rows after a change to it, and merge them into the last full sweep:

    PYTHONPATH=$PWD nice -n 5 python scripts/bench_peer_suite.py --only reparam --json /tmp/r.json
    PYTHONPATH=$PWD python scripts/bench_peer_suite.py --from-json /tmp/peer.json /tmp/r.json

Each cell: forward mean error (threshold), cosine with the finite differences, reverse error
of the mean gradient +- its spread across seeds, and pass/FAIL; or the refusal / crash line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

import invrender  # noqa: F401  (first: points Dr.Jit at a working LLVM before Mitsuba loads it)

REFS = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "peer_fd_refs.npz")


def cell(result) -> str:
    if result.fwd_status == result.bwd_status != "ok" and result.fwd_message == result.bwd_message:
        return f"{result.fwd_status}: {result.fwd_message}"
    if result.fwd_status == "ok":
        fwd = f"fwd {result.fwd_mean:.3g} (max {result.fwd_max:.2g}), cos {result.cosine:.2f}"
    else:
        fwd = f"fwd {result.fwd_status}: {result.fwd_message}"
    if result.bwd_status == "ok":
        bwd = f"bwd {result.bwd_err:.2g} ± {result.bwd_spread:.2g}"
    else:
        bwd = f"bwd {result.bwd_status}: {result.bwd_message}"
    scored = [m for m, st in (("fwd", result.fwd_status), ("bwd", result.bwd_status)) if st == "ok"]
    if result.failures:
        verdict = ": **FAIL** (" + "; ".join(result.failures) + ")"
    elif len(scored) == 2:
        verdict = ": pass"
    else:
        verdict = f": pass ({scored[0]} only)" if scored else ""
    return f"{fwd}; {bwd}{verdict}"


def row(name: str, results: dict, refs) -> list[str]:
    """One table row from the results of one configuration (integrator -> Result)."""
    from fixtures import peer_reasons, peer_run, peer_suite

    config = peer_suite.build(name)
    notes = [
        f"{i}: {peer_reasons.REASONS[(name, i)]}"
        for i in peer_run.OURS
        if (name, i) in peer_reasons.REASONS
    ]
    thr = config.thresholds
    base_name = peer_run.baseline_name(config)
    base = results.get(base_name)
    return [
        f"`{name}`",
        config.moves,
        f"{thr.fwd_mean:g} / {thr.fwd_max:g} / {thr.bwd:g}",
        cell(results["edge_sampling"]),
        cell(results["reparam"]),
        f"{base_name}: {cell(base)}" if base else "not run",
        f"FD noise {float(refs['noise_' + name]):.2g}. " + " ".join(notes),
    ]


def print_table(rows: list[list[str]]) -> None:
    header = [
        "configuration",
        "what moves",
        "thresholds fwd mean / max / bwd",
        "edge_sampling",
        "reparam",
        "baseline",
        "notes",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")


def from_json(paths: list[str], refs) -> None:
    """Re-render the table from saved results (notes from today's peer_reasons.py)."""
    from fixtures import peer_run, peer_suite

    by_config: dict[str, dict] = {}
    for path in paths:
        with open(path) as fh:
            for record in json.load(fh):
                by_config.setdefault(record["config"], {})[record["integrator"]] = peer_run.Result(
                    **record
                )
    print_table([row(n, by_config[n], refs) for n in peer_suite.NAMES if n in by_config])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these configurations")
    parser.add_argument("--fwd-spp", type=int, default=None, help="cap on forward-mode spp")
    parser.add_argument("--seeds", type=int, default=None, help="reverse-mode seeds")
    parser.add_argument("--no-baseline", action="store_true", help="skip the projective baseline")
    parser.add_argument(
        "--only",
        choices=["edge_sampling", "reparam"],
        help="run this integrator alone (rerun its rows; --from-json merges with an older sweep)",
    )
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--from-json", nargs="+", help="only re-render these saved results")
    args = parser.parse_args()
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    import mitsuba as mi

    # Warnings (the albedo stand-in exceeds 1 on purpose) would land in the table on stdout.
    mi.set_log_level(mi.LogLevel.Error)
    from fixtures import peer_run, peer_suite

    refs = np.load(REFS)
    if args.from_json:
        from_json(args.from_json, refs)
        return
    names = args.names or peer_suite.NAMES
    unknown = [n for n in names if n not in peer_suite.NAMES]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}")
    budget = {k: v for k, v in (("fwd_spp", args.fwd_spp), ("seeds", args.seeds)) if v is not None}
    missing = [n for n in names if n not in refs.files]
    if missing:
        raise SystemExit(f"no cached reference for {', '.join(missing)}: run make_peer_fd_refs.py")
    start_wall = time.perf_counter()
    rows, records = [], []
    for name in names:
        config = peer_suite.build(name)
        ref, ref_mean = refs[name], float(refs["mean_" + name])
        which = list(peer_run.OURS) + ([] if args.no_baseline else [peer_run.baseline_name(config)])
        if args.only:
            which = [args.only]
        results = {i: peer_run.run(config, i, ref, ref_mean, **budget) for i in which}
        records += [vars(r) for r in results.values()]
        if args.only:
            print(f"{name}: {args.only}: {cell(results[args.only])}", flush=True, file=sys.stderr)
        else:
            rows.append(row(name, results, refs))
            print(" | ".join(rows[-1]), flush=True, file=sys.stderr)
        if args.json:  # after each configuration: a long sweep keeps what it measured
            with open(args.json, "w") as fh:
                json.dump(records, fh, indent=1, default=float)
    if rows:
        print_table(rows)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"\n{len(names)} configurations; wall {time.perf_counter() - start_wall:.0f} s, "
        f"CPU {usage.ru_utime + usage.ru_stime:.0f} s; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
