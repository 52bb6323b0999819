"""The layout of the repository: solutions → release (starter_code, assignments) → submissions."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "pretraining"                    # the student package, same name in solutions/ and starter_code/
SOLUTIONS = REPO / "solutions"             # the single source: reference modules + source notebooks
SOURCE_NOTEBOOKS = SOLUTIONS / "notebooks"
STARTER = REPO / "starter_code"            # generated: the package with every solution region stubbed
ASSIGNMENTS = REPO / "assignments"         # generated: the student notebooks (nbgrader generate_assignment)
CHECKS = Path(__file__).resolve().parent / "checks"
PUBLIC_CHECKS = CHECKS / "public"          # shipped to students
HIDDEN_CHECKS = CHECKS / "hidden"          # never in the release
PUBLIC_REFERENCES = PUBLIC_CHECKS / "references.json"  # generated: the public checks' reference values
EXAMPLES = REPO / "examples"
