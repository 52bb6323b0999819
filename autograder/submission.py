"""Turn what a student handed in (a folder or a .zip) into a clean private copy the worker can run.

Nothing in a submission is trusted: zip members with absolute paths, ``..`` or links are refused, sizes are
capped, and only regular files are copied. The copy is what the worker sees, so student code cannot touch
the original (or another student's files next to it).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .paths import PACKAGE

MAX_FILES = 5_000
MAX_BYTES = 200 * 2**20


class SubmissionError(ValueError):
    """The submission cannot be graded as handed in; the message says why, for the student."""


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members, total = [], 0
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or info.filename.startswith(("/", "\\")) or ":" in path.parts[0]:
            raise SubmissionError(f"the zip contains an unsafe path: {info.filename!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SubmissionError(f"the zip contains a symbolic link: {info.filename!r}")
        total += info.file_size
        members.append(info)
    if len(members) > MAX_FILES or total > MAX_BYTES:
        raise SubmissionError(f"the zip is too large ({len(members)} files, {total >> 20} MiB unpacked; "
                              f"limits {MAX_FILES} files, {MAX_BYTES >> 20} MiB)")
    return members


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy regular files and folders only (links are skipped), within the size limits."""
    count = total = 0
    for path in sorted(src.rglob("*")):
        if path.is_symlink() or any(p.name in ("__pycache__", ".git") for p in path.parents):
            continue
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            count, total = count + 1, total + path.stat().st_size
            if count > MAX_FILES or total > MAX_BYTES:
                raise SubmissionError(f"the submission is too large (limits {MAX_FILES} files, {MAX_BYTES >> 20} MiB)")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _package_root(top: Path) -> Path:
    """The folder that holds ``pretraining/`` — the top, or up to three levels below it; or, when the package's
    ``.py`` files were handed in loose at the top, a ``pretraining/`` folder rebuilt from them."""
    candidates = sorted((p.parent for p in top.rglob(PACKAGE) if p.is_dir() and len(p.relative_to(top).parts) <= 4),
                        key=lambda p: (len(p.parts), str(p)))
    loose = sorted(top.glob("*.py"))
    if not candidates and loose:  # the package's files uploaded one by one (e.g. dragged into Gradescope)
        package = top / "_loose_files" / PACKAGE
        package.mkdir(parents=True)
        for file in loose:
            shutil.move(file, package / file.name)
        (package / "__init__.py").touch()
        return package.parent
    if not candidates:
        raise SubmissionError(f"no `{PACKAGE}/` folder found: hand in the `{PACKAGE}` package folder from "
                              "starter_code/ (with your code in it) and your notebooks")
    return candidates[0]


def prepare(submission: Path, workdir: Path) -> Path:
    """Unpack or copy ``submission`` into ``workdir``; return the folder that contains ``pretraining/``."""
    submission, raw = Path(submission), Path(workdir) / "raw"
    raw.mkdir(parents=True)
    if submission.is_file() and zipfile.is_zipfile(submission):
        with zipfile.ZipFile(submission) as archive:
            for info in _safe_members(archive):
                archive.extract(info, raw)
    elif submission.is_dir():
        _copy_tree(submission, raw)
    else:
        raise SubmissionError(f"{submission.name} is neither a folder nor a .zip file")
    root = _package_root(raw)
    code = Path(workdir) / "code"
    _copy_tree(root, code)
    return code
