# %% [markdown]
# # 1 · Autoencoders
#
# x → encoder → r → decoder → x̂, trained so that the reconstruction x̂ is close to x under a distance
# d(x, x̂). In this notebook you implement the pieces in `starter_code/pretraining/autoencoder.py`, check
# them, and then test the lecture's claims with your own numbers.
#
# **Workflow.** Edit the `.py` file, save, re-run the cell that uses it. `check("name")` runs the public
# checks for `name` on your code, in a separate process — the same way your submission is graded.

# %%
# Setup: make your package (starter_code/pretraining) and the checks importable.
import os
import sys
from pathlib import Path

REPO = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "autograder").is_dir())
sys.path.insert(0, str(REPO))
from autograder.student import check, code_folder  # noqa: E402

sys.path.insert(0, str(code_folder()))
# Re-import your modules automatically when you save them.
%load_ext autoreload
%autoreload 2
import torch  # noqa: E402

from pretraining.autoencoder import reconstruction_loss  # noqa: E402
from pretraining.device import get_device  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402

DEVICE = get_device()
print("code from:", code_folder(), "| device:", DEVICE)

# %% [markdown]
# ## 1.1 The reconstruction loss
#
# Implement `reconstruction_loss(x, x_hat, reduction="mean")` in `autoencoder.py`:
# d(x, x̂) = ‖x − x̂‖², summed over every feature of an example, then averaged over the batch
# (`reduction="mean"`) or returned per example (`reduction="none"`, shape `(B,)`).

# %%
generator = seed_everything(0)
x = torch.rand(4, 64, generator=generator)
print("loss of a perfect reconstruction:", reconstruction_loss(x, x).item())
print("loss of reconstructing with zeros:", reconstruction_loss(x, torch.zeros_like(x)).item(),
      "= mean over the batch of", (x**2).sum(dim=1).tolist())

# %%
check("reconstruction_loss")

# %% [markdown]
# **Question 1.** An autoencoder whose latent r has at least as many dimensions as x can drive this loss to
# zero without learning anything useful. What does it learn instead, and what does the lecture propose to
# prevent it? (Two or three sentences.)

# %% [answer id=q-identity points=2]
# ### BEGIN SOLUTION
# It can learn the identity map: r copies x and the decoder copies r back, so reconstruction is perfect but r
# is no more useful than the raw input. The lecture's fix is a bottleneck — make r lower-dimensional than x
# (or limit its information, sparsity, or the decoder's capacity) so that it must summarise x.
# ### END SOLUTION
