"""Wrong implementations of pretraining/bottlenecks.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "test_bottlenecks"
B = "bottlenecks.py"
EPS = "eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)  # (B, *F)"
NOISY = "    return x + noise_std * eps\n"
DENOISE = "    return reconstruction_loss(x, model(x_noisy))\n"
KEEP = "keep = r.abs().topk(k, dim=-1).indices  # (..., k)"
SCATTER = "mask = torch.zeros_like(r).scatter(-1, keep, 1.0)  # (..., L), 1 where kept"
TOPK_OUT = "    return r * mask\n"
LIN = "self.linear = nn.Linear(latent_dim, output_dim)"
LIN_FWD = "return self.linear(r)  # (B, D)"

MUTANTS = {
    # -- add_noise --------------------------------------------------------------------------------------------
    "noise from the global random state": Mutant(
        "add_noise", {B: (EPS, "eps = torch.randn_like(x)")}, catches=("add_noise",)),
    "noise scaled by the variance": Mutant(
        "add_noise", {B: (NOISY, "    return x + noise_std**2 * eps\n")}, catches=("add_noise",)),
    "noise added in place": Mutant(
        "add_noise", {B: (NOISY, "    return x.add_(noise_std * eps)\n")}, catches=("add_noise",)),
    "one noise image shared by the batch": Mutant(
        "add_noise", {B: (EPS, "eps = torch.randn(x.shape[1:], generator=generator, dtype=x.dtype, device=x.device)")},
        catches=("add_noise",)),
    "noise from a generator of its own, seeded from the one given": Mutant(
        "add_noise", {B: (EPS, "eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(generator.initial_seed()), "
                               "dtype=x.dtype, device=x.device)")}, catches=("add_noise",)),
    # -- denoising_loss ---------------------------------------------------------------------------------------
    "denoising against the noisy input": Mutant(
        "denoising_loss", {B: (DENOISE, "    return reconstruction_loss(x_noisy, model(x_noisy))\n")}, catches=("denoising_loss",)),
    "denoising without noise": Mutant(
        "denoising_loss", {B: (DENOISE, "    return reconstruction_loss(x, model(x))\n")}, catches=("denoising_loss",)),
    "target corrupted by a second draw": Mutant(
        "denoising_loss", {B: (DENOISE, "    return reconstruction_loss(add_noise(x, noise_std, generator), model(x_noisy))\n")},
        catches=("denoising_loss",)),
    "loss without a gradient": Mutant(
        "denoising_loss", {B: (DENOISE, "    return reconstruction_loss(x, model(x_noisy)).detach()\n")}, catches=("denoising_loss",)),
    # -- top_k ------------------------------------------------------------------------------------------------
    "top-k by value instead of magnitude": Mutant(
        "top_k", {B: (KEEP, KEEP.replace("r.abs()", "r"))}, catches=("top_k",)),
    "top-k with a straight-through gradient": Mutant(
        "top_k", {B: (TOPK_OUT, "    return r + (r * mask - r).detach()\n")}, catches=("top_k",)),
    "top-k along dimension 1": Mutant(
        "top_k", {B: (f"{KEEP}\n    {SCATTER}", f"{KEEP.replace('dim=-1', 'dim=1')}\n    {SCATTER.replace('scatter(-1', 'scatter(1')}")},
        catches=("top_k",)),
    "top-k that keeps k − 1 (strict threshold)": Mutant(
        "top_k", {B: (f"{KEEP}\n    {SCATTER}",
                      "kth = r.abs().topk(k, dim=-1).values[..., -1:]\n    mask = (r.abs() > kth).to(r.dtype)")},
        catches=("top_k",)),
    "top-k through a threshold on |r|": Mutant(
        "top_k", {B: (f"{KEEP}\n    {SCATTER}",
                      "kth = r.abs().topk(k, dim=-1).values[..., -1:]\n    mask = (r.abs() >= kth).to(r.dtype)")},
        kind="harmless"),
    # -- LinearDecoder ----------------------------------------------------------------------------------------
    "linear decoder with a ReLU": Mutant(
        "LinearDecoder.__init__", {B: (LIN, "self.linear = nn.Sequential(nn.Linear(latent_dim, output_dim), nn.ReLU())")},
        catches=("LinearDecoder",)),
    "linear decoder without a bias": Mutant(
        "LinearDecoder.__init__", {B: (LIN, "self.linear = nn.Linear(latent_dim, output_dim, bias=False)")},
        catches=("LinearDecoder",)),
    "linear decoder with a hidden layer": Mutant(
        "LinearDecoder.__init__", {B: (LIN, "self.linear = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.Linear(latent_dim, output_dim))")},
        catches=("LinearDecoder",)),
    "linear decoder right only for 64 outputs": Mutant(
        "LinearDecoder.__init__", {B: (LIN, "self.linear = nn.Linear(latent_dim, 64)")}, catches=("LinearDecoder",)),
    "linear decoder with a sigmoid in forward": Mutant(
        "LinearDecoder.forward", {B: (LIN_FWD, "return torch.sigmoid(self.linear(r))")}, catches=("LinearDecoder",)),
    "linear decoder output without a gradient": Mutant(
        "LinearDecoder.forward", {B: (LIN_FWD, "return self.linear(r).detach()")}, catches=("LinearDecoder",)),
    "linear decoder that returns 8×8 images": Mutant(
        "LinearDecoder.forward", {B: (LIN_FWD, "return self.linear(r).view(len(r), 1, 8, 8)")}, catches=("LinearDecoder",)),
    "linear decoder that clamps to [0, 1]": Mutant(
        "LinearDecoder.forward", {B: (LIN_FWD, "return self.linear(r).clamp(0, 1)")}, catches=("LinearDecoder",)),
}
