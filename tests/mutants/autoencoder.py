"""Wrong implementations of pretraining/autoencoder.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "test_reconstruction_loss or test_encoder or test_decoder"
A = "autoencoder.py"
LOSS = "per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)"
REDUCE = "    return per_example.mean() if reduction == \"mean\" else per_example\n"
ENC = "self.layers = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, latent_dim))"
ENC_FWD = "return self.layers(x.flatten(start_dim=1))  # (B, D) → (B, L)"
DEC = "self.layers = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, output_dim))"
DEC_FWD = "return self.layers(r)  # (B, D)"

MUTANTS = {
    # -- reconstruction_loss ----------------------------------------------------------------------------------
    "loss with |x − x̂| instead of its square": Mutant(
        "reconstruction_loss", {A: (LOSS, LOSS.replace(".pow(2)", ".abs()"))}, catches=("reconstruction_loss",)),
    "sum over the last dimension only (right for flat inputs)": Mutant(
        "reconstruction_loss", {A: (LOSS, "per_example = (x - x_hat).pow(2).sum(dim=-1)")}, catches=("reconstruction_loss",)),
    "reduction ignored": Mutant(
        "reconstruction_loss", {A: (REDUCE, "    return per_example.mean()\n")}, catches=("reconstruction_loss",)),
    "loss without a gradient": Mutant(
        "reconstruction_loss", {A: (LOSS, LOSS.replace("(x - x_hat)", "(x - x_hat).detach()"))}, catches=("reconstruction_loss",)),
    "torch's mse_loss summed per example": Mutant(
        "reconstruction_loss", {A: (LOSS, "per_example = torch.nn.functional.mse_loss(x_hat, x, reduction='none').flatten(1).sum(1)")},
        kind="harmless"),
    # -- Encoder.__init__ -------------------------------------------------------------------------------------
    "encoder with a ReLU after its last layer": Mutant(
        "Encoder.__init__", {A: (ENC, ENC.replace("nn.Linear(hidden_dim, latent_dim))", "nn.Linear(hidden_dim, latent_dim), nn.ReLU())"))},
        catches=("Encoder",)),
    "encoder that ignores hidden_dim": Mutant(
        "Encoder.__init__", {A: (ENC, ENC.replace("hidden_dim", "128"))}, catches=("Encoder",)),
    "encoder without biases": Mutant(
        "Encoder.__init__", {A: (ENC, ENC.replace("hidden_dim)", "hidden_dim, bias=False)").replace("latent_dim))", "latent_dim, bias=False))"))},
        catches=("Encoder",)),
    "encoder with one layer": Mutant(
        "Encoder.__init__", {A: (ENC, "self.layers = nn.Linear(input_dim, latent_dim)")}, catches=("Encoder",)),
    # -- Encoder.forward --------------------------------------------------------------------------------------
    "encoder that does not flatten images": Mutant(
        "Encoder.forward", {A: (ENC_FWD, "return self.layers(x)")}, catches=("Encoder",)),
    "encoder right only for 64 features": Mutant(
        "Encoder.forward", {A: (ENC_FWD, "return self.layers(x.reshape(x.shape[0], 64))")}, catches=("Encoder",)),
    "encoder that flattens transposed images": Mutant(
        "Encoder.forward", {A: (ENC_FWD, "return self.layers(x.transpose(-1, -2).flatten(start_dim=1) if x.dim() > 2 else x)")},
        catches=("Encoder",)),
    "encoder output without a gradient": Mutant(
        "Encoder.forward", {A: (ENC_FWD, "return self.layers(x.flatten(start_dim=1)).detach()")}, catches=("Encoder",)),
    # -- Decoder.__init__ -------------------------------------------------------------------------------------
    "decoder with a sigmoid output": Mutant(
        "Decoder.__init__", {A: (DEC, DEC.replace("nn.Linear(hidden_dim, output_dim))", "nn.Linear(hidden_dim, output_dim), nn.Sigmoid())"))},
        catches=("Decoder",)),
    "decoder that ignores hidden_dim": Mutant(
        "Decoder.__init__", {A: (DEC, DEC.replace("hidden_dim", "128"))}, catches=("Decoder",)),
    "decoder without biases": Mutant(
        "Decoder.__init__", {A: (DEC, DEC.replace("hidden_dim)", "hidden_dim, bias=False)").replace("output_dim))", "output_dim, bias=False))"))},
        catches=("Decoder",)),
    "decoder with a ReLU after its last layer": Mutant(
        "Decoder.__init__", {A: (DEC, DEC.replace("nn.Linear(hidden_dim, output_dim))", "nn.Linear(hidden_dim, output_dim), nn.ReLU())"))},
        catches=("Decoder",)),
    # -- Decoder.forward --------------------------------------------------------------------------------------
    "decoder that returns 8×8 images": Mutant(
        "Decoder.forward", {A: (DEC_FWD, "return self.layers(r).view(len(r), 1, 8, 8)")}, catches=("Decoder",)),
    "decoder that clamps to [0, 1]": Mutant(
        "Decoder.forward", {A: (DEC_FWD, "return self.layers(r).clamp(0, 1)")}, catches=("Decoder",)),
    "decoder output without a gradient": Mutant(
        "Decoder.forward", {A: (DEC_FWD, "return self.layers(r).detach()")}, catches=("Decoder",)),
    "decoder that adds a sigmoid in forward": Mutant(
        "Decoder.forward", {A: (DEC_FWD, "return torch.sigmoid(self.layers(r))")}, catches=("Decoder",)),
}
