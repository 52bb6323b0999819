"""Section 2 checks (BERT masking, MAE) fail on the untouched stubs and on plausible wrong answers, each with a
message that points at the mistake."""

import pytest

from autograder.paths import STARTER
from conftest import grade_checks

MASKING, MAE = "masking.py", "mae.py"
SECTION = "test_masking or test_mae"

# Every check of the section, by test function name.
CHECKS = {
    "test_bert_mask_labels_and_inputs", "test_bert_mask_never_chooses_special_tokens", "test_bert_mask_rates",
    "test_bert_mask_reproducible", "test_masked_cross_entropy_value", "test_mlm_loss_follows_the_recipe",
    "test_bert_mask_rates_over_200k_tokens", "test_bert_mask_spreads_over_positions_and_rows",
    "test_bert_mask_random_tokens_are_uniform", "test_bert_mask_uses_its_probabilities",
    "test_bert_mask_leaves_its_input_alone", "test_bert_mask_all_special_row",
    "test_masked_cross_entropy_ignores_unchosen_positions",
    "test_patchify", "test_unpatchify", "test_random_masking_keeps_and_restores", "test_random_masking_reproducible",
    "test_mae_loss_value", "test_forward_encoder_encodes_the_visible_patches", "test_forward_decoder",
    "test_patchify_colour_non_square", "test_unpatchify_round_trip", "test_random_masking_visible_count",
    "test_random_masking_is_uniform_per_sample", "test_mae_loss_ignores_visible_patches",
    "test_mae_loss_normalized_targets", "test_encoder_sees_only_visible_patches",
    "test_encoder_output_ignores_hidden_pixels", "test_forward_decoder_deeper_and_other_ratio",
}

CHOSEN = "chosen = (torch.rand(shape, generator=generator, device=device) < select_prob) & ~protected  # (B, T)"
LABELS = "    labels = input_ids.masked_fill(~chosen, IGNORE_INDEX)  # (B, T)\n"
NOISE = "noise = torch.rand(B, N, generator=generator, device=x.device)"
ENCODE = ("        tokens = self.embed(images)  # (B, N, D): positions are added before masking, so they survive it\n"
          "        visible, mask, ids_restore = random_masking(tokens, mask_ratio, generator)  # (B, N_keep, D)\n"
          "        return self.encoder(visible), mask, ids_restore  # (B, N_keep, D), (B, N), (B, N)\n")

# mistake → (patches of the solution, {check that must fail: a fragment of its message})
WRONG = {
    # -- BERT masking -------------------------------------------------------------------------------------------
    "labels hold the corrupted inputs": (
        {MASKING: ("    return inputs, labels\n", "    return inputs, inputs.masked_fill(~chosen, IGNORE_INDEX)\n")},
        {"test_bert_mask_labels_and_inputs": "the label must be the original id"}),
    "special_mask ignored": (
        {MASKING: ("        protected |= special_mask.bool()\n", "        pass\n")},
        {"test_bert_mask_never_chooses_special_tokens": "they must never be chosen"}),
    "random 10% drawn apart from the 80% (≈2% random, 18% kept)": (
        {MASKING: ("    to_random = chosen & (u >= mask_prob) & (u < mask_prob + random_prob)\n",
                   "    to_random = chosen & ~to_mask & (torch.rand(shape, generator=generator) < random_prob)\n")},
        {"test_bert_mask_rates": "set to a random token", "test_bert_mask_rates_over_200k_tokens": "±5 standard"}),
    "selection from the global random state": (
        {MASKING: (CHOSEN, CHOSEN.replace("generator=generator, ", ""))},
        {"test_bert_mask_reproducible": "seeded alike"}),
    "cross-entropy that scores ignored positions as token 0": (
        {MASKING: ("labels.reshape(-1), ignore_index=IGNORE_INDEX)", "labels.reshape(-1).clamp(min=0))")},
        {"test_masked_cross_entropy_value": "tolerance",
         "test_masked_cross_entropy_ignores_unchosen_positions": "received a gradient"}),
    "the model sees the clean input": (
        {MASKING: ("logits = model(input_ids=inputs).logits", "logits = model(input_ids=input_ids).logits")},
        {"test_mlm_loss_follows_the_recipe": "bert_mask's inputs"}),
    "one mask shared by every row": (
        {MASKING: (CHOSEN, CHOSEN.replace("torch.rand(shape,", "torch.rand(shape[-1:],"))},
        {"test_bert_mask_spreads_over_positions_and_rows": "chosen independently"}),
    "one random token for every replacement": (
        {MASKING: ("torch.randint(vocab_size, shape, generator=generator, device=device, dtype=input_ids.dtype)",
                   "torch.randint(vocab_size, (1,), generator=generator, device=device, "
                   "dtype=input_ids.dtype).expand(shape)")},
        {"test_bert_mask_random_tokens_are_uniform": "uniformly"}),
    "select_prob hard-coded to 0.15": (
        {MASKING: (CHOSEN, CHOSEN.replace("< select_prob", "< 0.15"))},
        {"test_bert_mask_uses_its_probabilities": "select_prob=0.4"}),
    "masking in place": (
        {MASKING: ("inputs = input_ids.masked_fill(to_mask, mask_token_id)",
                   "inputs = input_ids.masked_fill_(to_mask, mask_token_id)")},
        {"test_bert_mask_leaves_its_input_alone": "in place"}),
    "at least one target forced into every row": (
        {MASKING: (LABELS, "    chosen[:, 1] |= ~chosen.any(dim=1)\n" + LABELS)},
        {"test_bert_mask_all_special_row": "should all be -100"}),
    # -- MAE ------------------------------------------------------------------------------------------------------
    "patchify without the permute": (
        {MAE: ("    x = x.permute(0, 2, 4, 3, 5, 1)  # (B, i, j, u, v, C)\n    return x.reshape(",
               "    return images.reshape(")},
        {"test_patchify": "values differ"}),
    "patch vectors ordered (c, u, v)": (
        {MAE: ("x = x.permute(0, 2, 4, 3, 5, 1)  # (B, i, j, u, v, C)", "x = x.permute(0, 2, 4, 1, 3, 5)")},
        {"test_patchify_colour_non_square": "values differ"}),
    "unpatchify that transposes the grid": (
        {MAE: ("x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, i, u, j, v)", "x = x.permute(0, 5, 2, 3, 1, 4)")},
        {"test_unpatchify": "values differ", "test_unpatchify_round_trip": "values differ"}),
    "unpatchify reading (c, u, v) patch vectors": (
        {MAE: ("x = patches.reshape(B, g, g, p, p, C)  # (B, i, j, u, v, C)\n"
               "    x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, i, u, j, v)",
               "x = patches.reshape(B, g, g, C, p, p)\n    x = x.permute(0, 3, 1, 4, 2, 5)")},
        {"test_unpatchify_round_trip": "values differ"}),
    "ids_restore = the shuffle itself": (
        {MAE: ("ids_restore = ids_shuffle.argsort(dim=1)  # (B, N): its inverse", "ids_restore = ids_shuffle")},
        {"test_random_masking_keeps_and_restores": "ids_restore"}),
    "noise from the global random state": (
        {MAE: (NOISE, NOISE.replace("generator=generator, ", ""))},
        {"test_random_masking_reproducible": "seeded alike"}),
    "N_keep = int(N · (1 − ratio))": (
        {MAE: ("    keep = num_visible(N, mask_ratio)\n", "    keep = int(N * (1 - mask_ratio))\n")},
        {"test_random_masking_visible_count": "num_visible(10, 0.9) = 1"}),
    "one noise vector for the whole batch": (
        {MAE: (NOISE, "noise = torch.rand(1, N, generator=generator, device=x.device).expand(B, N)")},
        {"test_random_masking_is_uniform_per_sample": "equally likely to be hidden"}),
    "loss over every patch": (
        {MAE: ("    return (per_patch * mask).sum() / mask.sum()\n", "    return per_patch.mean()\n")},
        {"test_mae_loss_value": "tolerance", "test_mae_loss_ignores_visible_patches": "changing pred"}),
    "loss over the visible patches": (
        {MAE: ("    return (per_patch * mask).sum() / mask.sum()\n",
               "    return (per_patch * (1 - mask)).sum() / (1 - mask).sum()\n")},
        {"test_mae_loss_ignores_visible_patches": "changing pred"}),
    "normalised targets with the biased variance": (
        {MAE: ("var = target.var(dim=-1, keepdim=True)", "var = target.var(dim=-1, keepdim=True, unbiased=False)")},
        {"test_mae_loss_normalized_targets": "tolerance"}),
    "encode every patch, then drop the masked ones": (
        {MAE: (ENCODE, "        encoded = self.encoder(self.embed(images))  # (B, N, D)\n"
                       "        return random_masking(encoded, mask_ratio, generator)\n")},
        {"test_forward_encoder_encodes_the_visible_patches": "visible patches",
         "test_encoder_sees_only_visible_patches": "lengths [16]",
         "test_encoder_output_ignores_hidden_pixels": "nothing hidden may reach the encoder"}),
    "positions added after masking": (
        {MAE: (ENCODE, "        tokens = self.patch_embed(patchify(images, self.patch_size))  # (B, N, P)\n"
                       "        visible, mask, ids_restore = random_masking(tokens, mask_ratio, generator)\n"
                       "        visible = visible + self.pos_embed[:, : visible.shape[1]]\n"
                       "        return self.encoder(visible), mask, ids_restore\n")},
        {"test_forward_encoder_encodes_the_visible_patches": "values differ"}),
    "decoder without the unshuffle": (
        {MAE: ("        x = x.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, dim))  # (B, N, D_dec), image order\n",
               "")},
        {"test_forward_decoder": "values differ", "test_forward_decoder_deeper_and_other_ratio": "values differ"}),
    "zeros instead of the learned mask token": (
        {MAE: ("self.mask_token.expand(B, N - keep, dim)", "torch.zeros(B, N - keep, dim)")},
        {"test_forward_decoder": "values differ", "test_forward_decoder_deeper_and_other_ratio": "values differ"}),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """References shared by every grading in this module."""
    return tmp_path_factory.mktemp("section2-references")


def failures(root, out, cache, names) -> dict[str, str]:
    """Grade the submission at ``root`` on the named checks: {check function name: message} of those that failed."""
    tests = grade_checks(root, out, cache, select=" or ".join(sorted(names)))
    ran = {t["check"]: t for t in tests}
    assert set(names) <= set(ran), f"checks not found: {set(names) - set(ran)}"
    return {name: t["output"] for name, t in ran.items() if t["status"] == "failed"}


def test_every_check_fails_on_the_untouched_stubs(tmp_path, cache):
    failed = failures(STARTER, tmp_path / "out", cache, CHECKS)
    assert set(failed) >= CHECKS, f"passed on the stubs: {CHECKS - set(failed)}"
    for name in CHECKS:
        assert "not implemented yet" in failed[name] and "Traceback" not in failed[name], (name, failed[name])


def test_every_check_is_targeted_by_a_wrong_answer():
    targeted = {name for _, expected in WRONG.values() for name in expected}
    assert targeted == CHECKS, f"no wrong answer for {CHECKS - targeted}; unknown checks {targeted - CHECKS}"


@pytest.mark.parametrize("mistake", WRONG, ids=list(WRONG))
def test_each_mistake_fails_its_checks_with_a_pointed_message(mistake, make_submission, tmp_path, cache):
    patches, expected = WRONG[mistake]
    failed = failures(make_submission(patches), tmp_path / "out", cache, expected)
    for name, fragment in expected.items():
        assert name in failed, f"{mistake}: {name} passed"
        assert fragment in failed[name], f"{mistake}: {name} says {failed[name]!r}, expected {fragment!r} in it"
        assert "grader error" not in failed[name] and "Traceback" not in failed[name], failed[name]
