"""What a check file imports: input builders and the teaching comparisons."""

from autograder.checks.inputs import attention_mask, digits_like, ndarray, tensor, token_ids, weights
from autograder.compare import assert_close, assert_equal, assert_true

__all__ = ["tensor", "ndarray", "attention_mask", "token_ids", "weights", "digits_like", "assert_close", "assert_equal",
           "assert_true"]
