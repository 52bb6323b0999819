"""How much faster is an MAE training step when the encoder sees only the visible patches?

One training step (forward, backward, AdamW update) at 75% masking, two ways, side by side in one run:

- ``visible``: MAE proper — the encoder runs on the N_keep = N/4 visible patches (``MaskedAutoencoder.forward``);
- ``all``:     the same model and loss, but the encoder runs on all N patches (hidden ones blanked), as a plain
               ViT would (SimMIM-style); the decoder is the same in both.

The decoder always processes all N positions, so the speed-up is bounded by how much of the step the encoder
is: ≈ (E + D) / (E/4 + D) for encoder cost E and decoder cost D (more than that where attention's N² term
matters). Hence the presets pair a large encoder with a light decoder, as the MAE paper does.

    python scripts/bench_mae.py                   # the preset for the device: "cpu" or "cuda"
    python scripts/bench_mae.py --preset vit-b    # any preset on any device
    python scripts/bench_mae.py --repeats 20 --batch 128 --threads 1

Prints one JSON object: the configuration, the median seconds per step of each variant, and their ratio.
"""

from __future__ import annotations

import argparse
import json

from benchmark import get_device, interleaved_medians, torch
from pretraining.mae import MaskedAutoencoder, mae_loss, patchify, random_masking, unpatchify  # noqa: E402
from pretraining.seeding import seed_everything  # noqa: E402

# Encoder ≫ decoder. "cpu": a ViT-Tiny-like encoder (12 × 192) on 32×32 images in 4×4 patches (N = 64) with a
# 1 × 64 decoder; "vit-b": ViT-B/16 (12 × 768) at 224×224 (N = 196), MAE's image size, with a 2 × 256 decoder.
PRESETS = {
    "cpu": dict(model=dict(image_size=32, patch_size=4, channels=3, dim=192, depth=12, heads=3, decoder_dim=64,
                           decoder_depth=1, decoder_heads=4), batch=64),
    "vit-b": dict(model=dict(image_size=224, patch_size=16, channels=3, dim=768, depth=12, heads=12,
                             decoder_dim=256, decoder_depth=2, decoder_heads=8), batch=64),
}
# The MAE paper's default decoder (8 blocks × 512) for comparison: a heavier decoder, a smaller speed-up.
PRESETS["vit-b-paper-decoder"] = dict(model=dict(PRESETS["vit-b"]["model"], decoder_dim=512, decoder_depth=8,
                                                 decoder_heads=16), batch=64)
PRESETS["cuda"] = PRESETS["vit-b"]


def loss_visible_only(model: MaskedAutoencoder, images: torch.Tensor, mask_ratio: float, generator) -> torch.Tensor:
    return model(images, mask_ratio, generator)[0]


def loss_all_patches(model: MaskedAutoencoder, images: torch.Tensor, mask_ratio: float, generator) -> torch.Tensor:
    """The same objective with the encoder on every patch: hidden patches are blanked, not dropped."""
    p = model.patch_size
    patches = patchify(images, p)  # (B, N, P)
    _, mask, _ = random_masking(patches, mask_ratio, generator)  # (B, N), 1 = hidden
    blanked = unpatchify(patches * (1 - mask).unsqueeze(-1), p, model.channels)  # (B, C, H, W)
    latent = model.features(blanked)  # (B, N, D): the encoder sees N tokens
    B, N = mask.shape
    identity = torch.arange(N, device=images.device).expand(B, N)  # nothing to unshuffle
    pred = model.forward_decoder(latent, identity)  # (B, N, P)
    return mae_loss(pred, patches, mask, model.normalize_target)


def training_step(model, opt, loss_fn, images, mask_ratio, generator) -> None:
    loss = loss_fn(model, images, mask_ratio, generator)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), help="default: 'cuda' on a GPU, else 'cpu'")
    parser.add_argument("--batch", type=int, help="images per step (default: the preset's)")
    parser.add_argument("--mask-ratio", type=float, default=0.75)
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; each round times one step of each")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = get_device()
    preset = args.preset or ("cuda" if device.type == "cuda" else "cpu")
    config, batch = PRESETS[preset]["model"], args.batch or PRESETS[preset]["batch"]
    seed_everything(0)  # the weights and the images
    model = MaskedAutoencoder(**config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    size = config["image_size"]
    images = torch.rand(batch, config["channels"], size, size, device=device)
    generator = torch.Generator(device=device).manual_seed(0)  # the masks

    variants = {name: (lambda fn=fn: training_step(model, opt, fn, images, args.mask_ratio, generator))
                for name, fn in {"visible": loss_visible_only, "all": loss_all_patches}.items()}
    median = {name: t["median_s"] for name, t in
              interleaved_medians(variants, device, repeats=args.repeats, warmup=args.warmup).items()}
    encoder_params = sum(p.numel() for m in (model.patch_embed, model.encoder) for p in m.parameters())
    decoder_params = sum(p.numel() for n, p in model.named_parameters() if n.startswith("decoder") or n == "mask_token")
    print(json.dumps({
        "preset": preset, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(), "batch": batch, "mask_ratio": args.mask_ratio,
        "model": config, "patches": model.num_patches,
        "encoder_params": encoder_params, "decoder_params": decoder_params,
        "repeats": args.repeats,
        "seconds_per_step": {"visible_only": round(median["visible"], 5), "all_patches": round(median["all"], 5)},
        "speedup": round(median["all"] / median["visible"], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
