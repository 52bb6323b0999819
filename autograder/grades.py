"""One grade per student: module checks + autograded notebook cells + hand-graded answers, merged by one command.

``python -m autograder grades --config grading.toml`` reads one TOML file (paths relative to it)::

    roster = "roster.csv"                      # id,name,email — the key of every row (nbgrader's student ids)
    assignment = "reconstruction"
    out = "final"                               # writes final/grades.csv, final/gradescope.csv, final/lms.csv

    [modules]                                   # `grade-all` output: <student>/results.json
    results = "module-grades"
    weight = 0.6

    [notebooks]                                 # nbgrader's gradebook: autograded cells and hand-graded answers
    gradebook = "course/gradebook.db"
    weight = 0.25                               # the autograded test cells (code_score)
    written_weight = 0.15                       # the hand-graded answers (written_score)

    [late]
    due = "2026-12-01T23:59:00+00:00"
    grace_minutes = 15
    penalty_per_day = 0.10                      # a fraction of the total, per day (or part of one) late
    max_days = 5                                # later than this: 0
    timestamps = "timestamps.csv"               # optional id,submitted_at overrides (e.g. an extension's)

Each part counts as (points / its maximum) × its weight; the weights are normalised to sum to 1 and the total is
a percentage, then the late penalty applies. A student missing from a part gets 0 for it and a note; a student
not on the roster is reported, never silently dropped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


@dataclass
class Row:
    id: str
    name: str
    email: str
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)  # part → (points, max)
    submitted: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).strip().replace(" ", "T", 1) if " " in str(text) else str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_modules(folder: Path) -> dict[str, tuple[float, float]]:
    found = {}
    for path in sorted(Path(folder).glob("*/results.json")):
        if not path.parent.name.startswith("."):
            data = json.loads(path.read_text())
            found[path.parent.name] = (float(data["score"]), sum(float(t["max_score"]) for t in data["tests"]))
    return found


def load_gradebook(path: Path, assignment: str) -> dict[str, dict]:
    """student → {code: (score, max), written: (score, max), timestamp} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(f"sqlite:///{Path(path).resolve()}") as gradebook:
        for student in gradebook.students:
            try:
                sub = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            found[student.id] = {"code": (float(sub.code_score), float(sub.max_code_score)),
                                 "written": (float(sub.written_score), float(sub.max_written_score)),
                                 "timestamp": sub.timestamp}
    return found


def late_penalty(submitted: datetime | None, late: dict) -> tuple[float, float]:
    """(days late, counted in started days after the grace period; fraction of the total taken off)."""
    if not late or submitted is None or "due" not in late:
        return 0.0, 0.0
    overdue = (submitted - _when(late["due"])).total_seconds() - 60 * float(late.get("grace_minutes", 0))
    if overdue <= 0:
        return 0.0, 0.0
    days = math.ceil(overdue / 86400)
    if days > int(late.get("max_days", 10**6)):
        return float(days), 1.0
    return float(days), min(1.0, days * float(late.get("penalty_per_day", 0.0)))


def merge(config_path: Path) -> dict[str, Path]:
    """Read the TOML config, write the merged grades (and the exports); return {kind: path}."""
    config_path = Path(config_path).resolve()
    config = tomllib.loads(config_path.read_text())
    here = config_path.parent
    with open(here / config["roster"], newline="") as f:
        rows = {r["id"].strip(): Row(r["id"].strip(), r.get("name", "").strip(), r.get("email", "").strip())
                for r in csv.DictReader(f)}
    weights: dict[str, float] = {}
    unknown: set[str] = set()
    if "modules" in config:
        weights["modules"] = float(config["modules"].get("weight", 1.0))
        found = load_modules(here / config["modules"]["results"])
        unknown |= set(found) - set(rows)
        for sid, row in rows.items():
            row.parts["modules"] = found.get(sid, (0.0, max((m for _, m in found.values()), default=0.0)))
            if sid not in found:
                row.notes.append("no module submission")
    if "notebooks" in config:
        nb = config["notebooks"]
        weights["notebooks"] = float(nb.get("weight", 1.0))
        weights["written"] = float(nb.get("written_weight", 0.0))
        found = load_gradebook(here / nb["gradebook"], config.get("assignment", "reconstruction"))
        unknown |= set(found) - set(rows)
        most = {k: max((v[k][1] for v in found.values()), default=0.0) for k in ("code", "written")}
        for sid, row in rows.items():
            entry = found.get(sid)
            row.parts["notebooks"] = entry["code"] if entry else (0.0, most["code"])
            row.parts["written"] = entry["written"] if entry else (0.0, most["written"])
            if entry and entry["timestamp"] is not None:
                row.submitted = entry["timestamp"].replace(tzinfo=entry["timestamp"].tzinfo or timezone.utc)
            if not entry:
                row.notes.append("no notebook submission")
    late = config.get("late", {})
    if late.get("timestamps"):
        with open(here / late["timestamps"], newline="") as f:
            for r in csv.DictReader(f):
                if r["id"] in rows:
                    rows[r["id"]].submitted = _when(r["submitted_at"])
    total_weight = sum(w for part, w in weights.items()) or 1.0
    out = here / config.get("out", "final")
    out.mkdir(parents=True, exist_ok=True)

    table = io.StringIO()
    writer = csv.writer(table)
    parts = list(weights)
    writer.writerow(["id", "name", "email", *[f"{p}{s}" for p in parts for s in ("", "_max")], "days_late",
                     "late_penalty", "total_percent", "notes"])
    totals = {}
    for sid, row in rows.items():
        fraction = sum(weights[p] * (row.parts[p][0] / row.parts[p][1] if row.parts[p][1] else 0.0) for p in parts)
        days, penalty = late_penalty(row.submitted, late)
        total = round(100 * fraction / total_weight * (1 - penalty), 2)
        totals[sid] = total
        if days:
            row.notes.append(f"{days:g} day(s) late")
        writer.writerow([sid, row.name, row.email, *[f"{row.parts[p][i]:g}" for p in parts for i in (0, 1)],
                         f"{days:g}", f"{penalty:g}", f"{total:g}", "; ".join(row.notes)])
    from .grading import write_atomic

    paths = {"grades": out / "grades.csv", "gradescope": out / "gradescope.csv", "lms": out / "lms.csv"}
    write_atomic(paths["grades"], table.getvalue())
    # Gradescope's "import scores" CSV: name, SID, email and the score (out of 100).
    gradescope = io.StringIO()
    w = csv.writer(gradescope)
    w.writerow(["Name", "SID", "Email", "Total Score"])
    for sid, row in rows.items():
        w.writerow([row.name, sid, row.email, f"{totals[sid]:g}"])
    write_atomic(paths["gradescope"], gradescope.getvalue())
    # An LMS gradebook import (Canvas' layout; Moodle and Blackboard accept the same columns mapped by name).
    title = config.get("lms_column", f"{config.get('assignment', 'reconstruction')} (100)")
    lms = io.StringIO()
    w = csv.writer(lms)
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title])
    for sid, row in rows.items():
        w.writerow([row.name, "", sid, row.email, "", f"{totals[sid]:g}"])
    write_atomic(paths["lms"], lms.getvalue())
    if unknown:
        print(f"not on the roster (not in the grades): {', '.join(sorted(unknown))}")
    return paths
