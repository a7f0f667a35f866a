"""Score `lecturefind audit --format json` against objective sets with known answers; sweep the verdict thresholds.

    python scripts/bench/audit_thresholds.py AUDIT.json ANSWERS.json [AUDIT2.json ANSWERS2.json ...] [-v]

ANSWERS.json (scripts/bench/audit_sets/*.answers.json):
    {"objectives": [{"objective": "<bullet text>", "expect": "covered"|"thin"|"missing", "lectures": ["x.mp4"]}]}

Objectives are matched by text (exact, else case- and whitespace-insensitive). Per set and pooled it prints:
the AUROC of `strength` for covered vs missing (thin objectives are informative only, never scored hard);
a sweep of one threshold T (0.300..0.800, step 0.025): accuracy of covered-vs-missing, precision and recall of
"covered" (strength >= T), and the share of thin objectives at or above T; the chosen pair
  T1 (covered >= T1): the lowest T whose "covered" precision is >= 0.90 in every set (max recall), also the
      pooled-only choice;
  T2 (thin >= T2, T2 < T1): the highest T at which >= 95 % of the truly covered objectives in every set are at
      least thin (not called missing);
the 3x3 table expected x verdict at (T1, T2) and under the audit's own verdicts; and lecture accuracy for covered
objectives: all expected lectures listed in the objective's `lectures`, any listed, top lecture one of them
(files matched by basename). -v lists every objective with its strength, verdict and lectures.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

GRID = [round(0.30 + 0.025 * i, 4) for i in range(21)]  # 0.300 .. 0.800
T1_PRECISION = 0.90
T2_COVERED_KEPT = 0.95
KINDS = ("covered", "thin", "missing")


def norm(text: str) -> str:
    """Case- and whitespace-insensitive form of an objective; drops a leading bullet and trailing dots."""
    t = re.sub(r"\s+", " ", text).strip()
    t = re.sub(r"^[-*+]\s+", "", t).rstrip(" .")
    return t.casefold()


def load_set(audit_path: str, answers_path: str) -> tuple[str, list[dict], list[str]]:
    """(name, rows, problems): one row per answer objective with the audit's strength/verdict/lectures."""
    with open(audit_path, encoding="utf-8") as f:
        audit = json.load(f)
    with open(answers_path, encoding="utf-8") as f:
        answers = json.load(f)
    name = os.path.basename(answers_path)
    for suffix in (".answers.json", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    got = audit.get("objectives") or []
    exact = {o.get("objective", ""): o for o in got}
    loose: dict[str, dict] = {}
    for o in got:
        loose.setdefault(norm(o.get("objective", "")), o)
    rows, problems, used = [], [], set()
    for a in answers["objectives"]:
        text, expect = a["objective"], a["expect"]
        if expect not in KINDS:
            problems.append(f"{name}: bad expect {expect!r} for {text!r}")
            continue
        o = exact.get(text) or loose.get(norm(text))
        if o is None:
            problems.append(f"{name}: not in audit output: {text!r}")
            continue
        used.add(id(o))
        files = [os.path.basename(str(lec.get("file") or "")) for lec in o.get("lectures") or []]
        strength = o.get("strength")
        rows.append({"set": name, "objective": text, "expect": expect, "want": [os.path.basename(x) for x in
                     a.get("lectures") or []], "strength": float(strength) if strength is not None else 0.0,
                     "verdict": o.get("verdict"), "files": files})
    extra = [o.get("objective", "") for o in got if id(o) not in used]
    if extra:
        problems.append(f"{name}: {len(extra)} audit objectives without an answer, e.g. {extra[0]!r}")
    return name, rows, problems


def auroc(pos: list[float], neg: list[float]) -> float | None:
    """P(score of a random positive > a random negative), ties count half."""
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def fmt(x: float | None, width: int = 6) -> str:
    return f"{x:{width}.3f}" if x is not None else f"{'-':>{width}}"


def at_threshold(rows: list[dict], t: float) -> dict:
    """Covered-vs-missing counts when "covered" means strength >= t (thin objectives only reported)."""
    cov = [r["strength"] for r in rows if r["expect"] == "covered"]
    mis = [r["strength"] for r in rows if r["expect"] == "missing"]
    thin = [r["strength"] for r in rows if r["expect"] == "thin"]
    tp = sum(s >= t for s in cov)
    fp = sum(s >= t for s in mis)
    tn = len(mis) - fp
    return {"acc": ratio(tp + tn, len(cov) + len(mis)), "prec": ratio(tp, tp + fp), "rec": ratio(tp, len(cov)),
            "miss_ok": ratio(tn, len(mis)), "thin_up": ratio(sum(s >= t for s in thin), len(thin)),
            "tp": tp, "fp": fp}


def choose_t1(groups: list[list[dict]]) -> float | None:
    """Lowest grid T whose "covered" precision is >= T1_PRECISION in every group (recall falls as T rises)."""
    for t in GRID:
        precs = [at_threshold(g, t)["prec"] for g in groups]
        if all(p is not None and p >= T1_PRECISION for p in precs):
            return t
    return None


def choose_t2(groups: list[list[dict]], t1: float | None) -> float | None:
    """Highest grid T below T1 at which >= T2_COVERED_KEPT of each group's covered objectives are >= T."""
    best = None
    for t in GRID:
        if t1 is not None and t >= t1:
            break
        if all(at_threshold(g, t)["rec"] is None or at_threshold(g, t)["rec"] >= T2_COVERED_KEPT for g in groups):
            best = t
    return best


def verdict(strength: float, t1: float, t2: float) -> str:
    return "covered" if strength >= t1 else "thin" if strength >= t2 else "missing"


def confusion(rows: list[dict], label: str, pick) -> None:
    print(f"  {label}: rows = expected, columns = verdict (covered thin missing)")
    for e in KINDS:
        sel = [r for r in rows if r["expect"] == e]
        if not sel:
            continue
        counts = [sum(pick(r) == v for r in sel) for v in KINDS]
        print(f"    {e:8s} n={len(sel):3d}  " + "  ".join(f"{c:3d}" for c in counts))


def lecture_accuracy(rows: list[dict]) -> str:
    sel = [r for r in rows if r["expect"] == "covered" and r["want"]]
    if not sel:
        return "n=0"
    all_in = sum(set(r["want"]) <= set(r["files"]) for r in sel)
    any_in = sum(bool(set(r["want"]) & set(r["files"])) for r in sel)
    top = sum(bool(r["files"]) and r["files"][0] in r["want"] for r in sel)
    listed = sum(len(r["files"]) for r in sel) / len(sel)
    return (f"n={len(sel)}  all-expected-listed {all_in / len(sel):.3f}  any-listed {any_in / len(sel):.3f}  "
            f"top-is-expected {top / len(sel):.3f}  mean-listed {listed:.2f}")


def describe(name: str, rows: list[dict]) -> None:
    cov = [r["strength"] for r in rows if r["expect"] == "covered"]
    mis = [r["strength"] for r in rows if r["expect"] == "missing"]
    thin = [r["strength"] for r in rows if r["expect"] == "thin"]
    print(f"== {name}: covered {len(cov)}  thin {len(thin)}  missing {len(mis)}")
    print(f"  AUROC covered vs missing {fmt(auroc(cov, mis), 0)}   (thin vs missing {fmt(auroc(thin, mis), 0)}, "
          f"covered vs thin {fmt(auroc(cov, thin), 0)})")
    for label, xs in (("covered", cov), ("thin", thin), ("missing", mis)):
        if xs:
            s, h = sorted(xs), len(xs) // 2
            med = s[h] if len(s) % 2 else (s[h - 1] + s[h]) / 2
            print(f"  strength {label:8s} min {s[0]:.3f}  median {med:.3f}  max {s[-1]:.3f}")
    print("      T    acc   prec    rec  miss-ok  thin>=T")
    for t in GRID:
        m = at_threshold(rows, t)
        print(f"  {t:.3f} {fmt(m['acc'])} {fmt(m['prec'])} {fmt(m['rec'])}   {fmt(m['miss_ok'])}   {fmt(m['thin_up'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="AUDIT.json ANSWERS.json pairs")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every objective")
    a = ap.parse_args()
    if len(a.files) % 2:
        ap.error("give AUDIT.json ANSWERS.json in pairs")
    sets: list[tuple[str, list[dict]]] = []
    for audit_path, answers_path in zip(a.files[0::2], a.files[1::2]):
        name, rows, problems = load_set(audit_path, answers_path)
        for p in problems:
            print(f"warning: {p}", file=sys.stderr)
        sets.append((name, rows))
    pooled = [r for _, rows in sets for r in rows]
    if a.verbose:
        for r in pooled:
            print(f"{r['set']:6s} {r['expect']:8s} {r['strength']:.3f} {str(r['verdict']):8s} "
                  f"{'ok ' if r['files'][:1] and r['files'][0] in r['want'] else '   '}"
                  f"{','.join(r['files'][:3]) or '-'}  | {r['objective']}")
        print()
    for name, rows in sets:
        describe(name, rows)
    if len(sets) > 1:
        describe("pooled", pooled)

    groups = [rows for _, rows in sets]
    t1_all, t1_pooled = choose_t1(groups), choose_t1([pooled])
    print(f"\nT1 rule: lowest T with covered precision >= {T1_PRECISION:.2f} in every set -> "
          f"{fmt(t1_all, 0)}   (pooled only -> {fmt(t1_pooled, 0)})")
    t1 = t1_all if t1_all is not None else t1_pooled
    t2 = choose_t2(groups, t1)
    print(f"T2 rule: highest T < T1 keeping >= {T2_COVERED_KEPT:.0%} of covered at least thin in every set -> "
          f"{fmt(t2, 0)}")
    for name, rows in sets + ([("pooled", pooled)] if len(sets) > 1 else []):
        print(f"-- {name}")
        if t1 is not None:
            m = at_threshold(rows, t1)
            print(f"  at T1 {t1:.3f}: acc {fmt(m['acc'], 0)}  prec {fmt(m['prec'], 0)}  rec {fmt(m['rec'], 0)}  "
                  f"(covered called covered {m['tp']}, missing called covered {m['fp']})")
        if t2 is not None:
            m = at_threshold(rows, t2)
            print(f"  at T2 {t2:.3f}: covered at least thin {fmt(m['rec'], 0)}  missing called missing "
                  f"{fmt(m['miss_ok'], 0)}  thin at least thin {fmt(m['thin_up'], 0)}")
        if t1 is not None and t2 is not None:
            confusion(rows, f"chosen T1={t1:.3f} T2={t2:.3f}", lambda r: verdict(r["strength"], t1, t2))
        confusion(rows, "audit's own verdicts", lambda r: r["verdict"])
        print(f"  lecture accuracy (covered): {lecture_accuracy(rows)}")


if __name__ == "__main__":
    main()
