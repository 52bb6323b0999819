"""Turn what a student handed in (a folder, a .zip or a tar archive) into a clean private copy the worker can run.

Nothing in a submission is trusted: archive members with absolute paths, ``..``, links or devices are refused,
sizes and counts are capped (zip bombs), and only regular files are copied. The copy is what the worker sees, so
student code cannot touch the original (or another student's files next to it).

Every usual way of handing in the package is accepted: a folder or archive holding ``pretraining/`` at any depth
up to six (``pretraining/`` itself, the folder around it, a top-level folder of any name), the package's ``.py``
files loose at the top or in a folder of any other name (``pretraining 2/``, ``hw/``), one archive inside the
uploaded folder (Gradescope), Windows ``\\`` separators, and macOS's ``__MACOSX/``, ``._*`` and ``.DS_Store``
clutter. Anything else — an encrypted or corrupt archive, an unsupported compression method, a loose file of the
wrong kind — raises :class:`SubmissionError` with a message that says what to hand in instead.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from .paths import PACKAGE

MAX_FILES = 5_000
MAX_BYTES = 200 * 2**20
MAX_DEPTH = 6            # how deep below the top a pretraining/ folder is looked for
HOW = (f"hand in the `{PACKAGE}/` folder (with your code in it) and your notebooks, as a folder or as a "
       f"plain .zip of them")


class SubmissionError(ValueError):
    """The submission cannot be graded as handed in; the message says why, for the student."""


def _junk(parts: tuple[str, ...]) -> bool:
    """Files no student means to hand in: macOS archive clutter, caches, version control, environments (a
    working folder handed in with its .venv still grades: only what belongs is taken)."""
    return any(p in ("__MACOSX", "__pycache__", ".git", ".DS_Store", ".ipynb_checkpoints") or p.startswith("._")
               or p in ENVIRONMENTS for p in parts)


ENVIRONMENTS = (".venv", "venv", ".conda", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox",
                ".ipython", ".jupyter", ".cache", ".local")  # added for issue 14 (batch/bundle owner)


def _member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"the archive contains an unsafe path: {name!r} (only relative paths inside the "
                              "archive can be unpacked)")
    return path


def _check_totals(count: int, total: int) -> None:
    if count > MAX_FILES or total > MAX_BYTES:
        raise SubmissionError(f"the submission is too large ({count} files, {total >> 20} MiB unpacked; limits "
                              f"{MAX_FILES} files, {MAX_BYTES >> 20} MiB): {HOW} — without data or model files")


def _write(target: Path, source, size_limit: int) -> int:
    """Copy at most ``size_limit`` bytes from the file object ``source``; return the bytes written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > size_limit:
                raise SubmissionError(f"the submission is too large (over {MAX_BYTES >> 20} MiB unpacked): {HOW}")
            out.write(chunk)
    return written


def _open_archive(archive_path: Path, open_archive, unreadable: tuple[type[Exception], ...], kind: str):
    """``open_archive(archive_path)``; an archive it cannot read (one of ``unreadable``) is a SubmissionError."""
    try:
        return open_archive(archive_path)
    except unreadable as exc:
        raise SubmissionError(f"{archive_path.name} is not a readable {kind} ({exc}): {HOW}") from None


def _unzip(archive_path: Path, raw: Path) -> None:
    with _open_archive(archive_path, zipfile.ZipFile, (zipfile.BadZipFile, OSError, ValueError, EOFError),
                       ".zip file") as archive:
        members, total = [], 0
        for info in archive.infolist():
            path = _member_path(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(f"the zip contains a symbolic link: {info.filename!r}; zip the files themselves")
            if info.is_dir() or not path.parts or _junk(path.parts):
                continue
            if info.flag_bits & 0x1:
                raise SubmissionError(f"the zip is encrypted (password-protected): {info.filename!r}; make a zip "
                                      "without a password")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                          zipfile.ZIP_LZMA):
                raise SubmissionError(f"the zip uses a compression method that cannot be unpacked here (method "
                                      f"{info.compress_type}, {info.filename!r}); make a plain zip (\"deflate\", "
                                      "the default of every zip tool)")
            total += info.file_size
            members.append((info, path))
            _check_totals(len(members), total)
        budget = MAX_BYTES
        for info, path in members:
            try:
                with archive.open(info) as source:
                    budget -= _write(raw.joinpath(*path.parts), source, budget)
            except SubmissionError:
                raise
            except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, OSError, EOFError,
                    ValueError) as exc:  # a bad CRC, a truncated file, a broken compressed stream
                raise SubmissionError(f"the zip is damaged: {info.filename!r} could not be unpacked ({exc}); "
                                      "make the zip again") from None


def _untar(archive_path: Path, raw: Path) -> None:
    with _open_archive(archive_path, tarfile.open, (tarfile.TarError, OSError, EOFError, ValueError),
                       "archive") as archive:
        count = total = 0
        try:
            for info in archive:
                path = _member_path(info.name)
                if info.isdir() or not path.parts or _junk(path.parts):
                    continue
                if not info.isfile():
                    raise SubmissionError(f"the archive contains a link or a special file: {info.name!r}")
                count, total = count + 1, total + info.size
                _check_totals(count, total)
                _write(raw.joinpath(*path.parts), archive.extractfile(info), MAX_BYTES)
        except SubmissionError:
            raise
        except (tarfile.TarError, OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
            raise SubmissionError(f"the archive is damaged ({exc}); make it again, or hand in a .zip") from None


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy regular files and folders only (links, devices and clutter are skipped), within the size limits."""
    count = total = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_symlink() or _junk(rel.parts) or any(p.is_symlink() for p in path.parents if p != src):
            continue
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            count, total = count + 1, total + path.stat().st_size
            _check_totals(count, total)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _is_archive(path: Path) -> bool:
    return path.is_file() and (zipfile.is_zipfile(path) or _is_tar(path))


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, ValueError, EOFError):
        return False


def _unpack(path: Path, raw: Path) -> None:
    if zipfile.is_zipfile(path):
        _unzip(path, raw)
    elif _is_tar(path):
        _untar(path, raw)
    elif path.suffix.lower() in (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".rar", ".7z"):
        kind = "a .zip" if path.suffix.lower() == ".zip" else f"a {path.suffix} file"
        raise SubmissionError(f"{path.name} looks like {kind} but could not be read as an archive "
                              "(damaged, or a format such as .rar or .7z): make a plain .zip")
    elif path.suffix == ".py":
        raise SubmissionError(f"{path.name} is a single file: {HOW} (every .py file of the package)")
    else:
        raise SubmissionError(f"{path.name} is neither a folder nor a .zip file: {HOW}")


def _package_root(top: Path) -> Path:
    """The folder that holds ``pretraining/`` — the top, or up to six levels below it; else a ``pretraining/``
    folder rebuilt from the folder (at most five levels down) that holds the most ``.py`` files — the package's
    files handed in loose (dragged into Gradescope one by one) or in a folder of another name."""
    candidates = sorted((p.parent for p in top.rglob(PACKAGE)
                         if p.is_dir() and len(p.relative_to(top).parts) <= MAX_DEPTH and any(p.glob("*.py"))),
                        key=lambda p: (len(p.parts), str(p)))
    if candidates:
        return candidates[0]
    folders = [top, *(p for p in top.rglob("*") if p.is_dir() and len(p.relative_to(top).parts) <= MAX_DEPTH - 1)]
    loose = sorted(((len(list(f.glob("*.py"))), -len(f.parts), str(f)) for f in folders), reverse=True)
    if not loose or loose[0][0] == 0:
        raise SubmissionError(f"no `{PACKAGE}/` folder and no .py file found: {HOW}")
    source = Path(loose[0][2])
    package = top.parent / "_rebuilt" / PACKAGE
    package.mkdir(parents=True)
    for file in source.glob("*.py"):
        shutil.copyfile(file, package / file.name)
    (package / "__init__.py").touch()
    return package.parent


def prepare(submission: Path, workdir: Path) -> Path:
    """Unpack or copy ``submission`` into ``workdir``; return the folder that contains ``pretraining/``."""
    submission, raw = Path(submission), Path(workdir) / "raw"
    raw.mkdir(parents=True)
    if submission.is_dir():
        _copy_tree(submission, raw)
        inner = [p for p in raw.iterdir() if not p.name.startswith(".")]
        # Gradescope (or a student) may put one archive inside the uploaded folder: unpack it in its place.
        if len(inner) == 1 and _is_archive(inner[0]):
            archive = Path(workdir) / ("upload" + "".join(inner[0].suffixes[-2:]))
            shutil.move(inner[0], archive)
            _unpack(archive, raw)
    elif submission.is_file():
        _unpack(submission, raw)
    else:
        raise SubmissionError(f"{submission.name} does not exist or is not a regular file: {HOW}")
    root = _package_root(raw)
    code = Path(workdir) / "code"
    _copy_tree(root, code)
    return code
