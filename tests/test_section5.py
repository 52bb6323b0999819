"""Section 5 checks fail on plausible wrong answers, each with a message that points at the mistake."""

import pytest

ICL = "icl.py"

WRONG = {
    "examples in reverse order": (
        {ICL: ("for x, y in examples)", "for x, y in reversed(examples))")},
        ["examples in order"]),
    "truncation drops the latest example": (
        {ICL: ("        examples = examples[1:]\n", "        examples = examples[:-1]\n")},
        ["never the query"]),
    "no error when the query cannot fit": (
        {ICL: ("        if not examples:\n            raise ValueError", "        if not examples:\n            return prompt\n            raise ValueError")},
        ["raises ValueError"]),
    "label words ignored": (
        {ICL: ("{fmt.answer(y)}{fmt.separator}", "{y}{fmt.separator}")},
        ["label words"]),
    "scores read without the shift": (
        {ICL: ("hidden[row.to(device), col.to(device)]", "hidden[row.to(device), (col + 1).to(device)]")},
        ["log p(candidate | prompt)", "batched scores equal"]),
    "mean instead of sum over the candidate's tokens": (
        {ICL: ("total = torch.zeros(len(rows)).index_add_(0, row, log_probs)",
               "total = torch.zeros(len(rows)).index_add_(0, row, log_probs) / scored.sum(dim=1)")},
        ["log p(candidate | prompt)"]),
    "right padding for generation": (
        {ICL: ("        ids[i, T - len(e):] = torch.tensor(e)\n        mask[i, T - len(e):] = 1",
               "        ids[i, :len(e)] = torch.tensor(e)\n        mask[i, :len(e)] = 1")},
        ["left-padded batch"]),
}


@pytest.mark.parametrize("mistake", WRONG, ids=list(WRONG))
def test_each_mistake_fails_its_checks(mistake, expect_caught):
    patches, failing = WRONG[mistake]
    expect_caught(patches, failing, select="icl")
