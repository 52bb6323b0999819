"""What a check file imports: input builders and the teaching comparisons."""

from autograder.checks.inputs import tensor, ndarray
from autograder.compare import assert_close, assert_equal, assert_true

__all__ = ["tensor", "ndarray", "assert_close", "assert_equal", "assert_true"]
