"""`models make-tiny DIR`: a complete set of tiny random-weight models in the real on-disk formats.

Every pipeline can then be smoke-tested offline in seconds, through the same loading code as real
weights. Sizes follow ../shared/TESTING.md (what is known to work with each library).

The tiny models keep the real models' geometry (everything that sets a tensor's shape from the input
size: SD 1.5's ×8 VAE and 4-level UNet/ControlNet, SAM's 1024 px input and 64×64 embedding, the input
sizes of CLIP ViT-B/32, DPT-hybrid, BLIP and OWLv2) and shrink only widths and depths. A tiny model with the
wrong geometry is slow at real work sizes (a 2-block VAE at 512 px gives 256×256 latents and a 65,536-token
attention) and hides shape bugs that only the real sizes show.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import torch

from engine.models.config import ModelsConfig, RoleSpec
from engine.models.sam import SamSpec, build_sam
from engine.runtime.atomic import atomic_write_bytes

# SAM's real 1024 px input, 16 px patches (a 64×64 embedding, 256×256 low-res masks) and vit_b's 14-wide
# windows; 2 blocks of width 32, the last one global. One head: the global attention over 4,096 tokens is
# most of the embedding's time (0.13 s against 0.24 s with 2 heads here).
TINY_SAM = SamSpec(
    encoder_embed_dim=32,
    encoder_depth=2,
    encoder_num_heads=1,
    encoder_global_attn_indexes=(1,),
    image_size=1024,
    patch_size=16,
    window_size=14,
    prompt_embed_dim=32,
    decoder_depth=1,
    decoder_mlp_dim=64,
    decoder_num_heads=2,
    iou_head_hidden_dim=32,
)

# ViT-B-32's geometry (224 px, 32 px patches: 7×7 tokens) at width 32.
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "patch_size": 32, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_CLIP_ARCH = "shootstudio-tiny-clip"

# Words a tiny BLIP vocabulary knows; real BLIP uses bert-base-uncased's 30k.
_BLIP_WORDS = (
    "a photo of the product on white table with bag shoe car watch red black leather studio light in and "
    "is background small large"
).split()


def make_tiny(folder: Path | str, seed: int = 0) -> Path:
    """Write every role's tiny model under `folder` and a `models.toml` for them; return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    _write_sam(folder / "sam_tiny.pth")
    _write_clip(folder / "clip")
    tokenizer_dir = _write_clip_tokenizer(folder / "_tokenizer")
    _write_sd(folder / "sd15-tiny", tokenizer_dir, in_channels=4)
    _write_sd(folder / "sd15-inpainting-tiny", tokenizer_dir, in_channels=9)
    _write_controlnet(folder / "controlnet-depth-tiny")
    _write_depth(folder / "depth-tiny")
    _write_blip(folder / "blip-tiny")
    _write_matting(folder / "vitmatte-tiny")
    _write_detector(folder / "owlv2-tiny", tokenizer_dir)
    config = ModelsConfig(
        {
            "sam": RoleSpec("sam", "sam_tiny.pth", folder, {"variant": "custom", **TINY_SAM.to_options()}),
            "clip": RoleSpec(
                "clip", "clip/open_clip_model.safetensors", folder, {"config": f"clip/{TINY_CLIP_ARCH}.json"}
            ),
            "inpaint": RoleSpec("inpaint", "sd15-inpainting-tiny", folder, {}),
            "controlnet_depth": RoleSpec("controlnet_depth", "controlnet-depth-tiny", folder, {}),
            "depth": RoleSpec("depth", "depth-tiny", folder, {"kind": "transformers"}),
            "txt2img": RoleSpec("txt2img", "sd15-tiny", folder, {}),
            "captioner": RoleSpec("captioner", "blip-tiny", folder, {}),
            "matting": RoleSpec("matting", "vitmatte-tiny", folder, {}),
            "detector": RoleSpec("detector", "owlv2-tiny", folder, {}),
        }
    )
    # Relative paths keep the folder movable.
    data = {role: {"path": spec.path, **spec.options} for role, spec in config.roles.items()}
    import tomli_w

    toml_path = folder / "models.toml"
    header = "# Tiny random-weight models written by `python main.py models make-tiny` (for tests only).\n"
    atomic_write_bytes(toml_path, (header + tomli_w.dumps(data)).encode())
    return toml_path


def _write_sam(path: Path) -> None:
    torch.save(build_sam(TINY_SAM).state_dict(), path)


def _write_clip(folder: Path) -> None:
    import open_clip
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{TINY_CLIP_ARCH}.json"
    config_path.write_text(json.dumps(TINY_CLIP_CONFIG, indent=2))
    open_clip.add_model_config(config_path)
    model = open_clip.create_model(TINY_CLIP_ARCH, pretrained=None)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))


def _write_clip_tokenizer(folder: Path) -> Path:
    """CLIP's BPE as `vocab.json` + `merges.txt`, derived from open_clip's bundled vocabulary.

    (transformers 5 ignores vocab/merges passed to the constructor; a folder it loads is what works.)
    """
    import open_clip.tokenizer as oct
    from transformers import CLIPTokenizer

    bpe_path = Path(oct.default_bpe())
    with gzip.open(bpe_path) as handle:
        merges = handle.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    merge_pairs = [tuple(m.split()) for m in merges]
    vocab = list(oct.bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(p) for p in merge_pairs]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    # SD 1.5's tokenizer pads and truncates to CLIP's 77-token context.
    tokenizer = CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)
    tokenizer.save_pretrained(str(folder))
    return folder


# Public: single-file SD 1.5 loading derives its tokenizer the same way (engine/models/diffusion.py).
write_clip_tokenizer = _write_clip_tokenizer


# SD 1.5's 4 levels (3 downsamplings); widths (320, 640, 1280, 1280) and 2 layers a block in the real one.
TINY_BLOCK_OUT_CHANNELS = (32, 32, 64, 64)
SD15_DOWN_BLOCKS = ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D")
SD15_UP_BLOCKS = ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")
TINY_TEXT_HIDDEN = 32  # the tiny text encoder's hidden size = the UNet's cross_attention_dim
# diffusers' SD 1.5 config names the number of heads `attention_head_dim` (8 there). At width 32, 8 heads
# of 4 channels cost 4× the time of 2 heads over the 4,096 tokens of a 512 px image's 64×64 latent.
TINY_ATTENTION_HEADS = 2


def _tiny_text_encoder():
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=TINY_TEXT_HIDDEN,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=32,
        )
    )


def _tiny_unet(in_channels: int):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64,  # 512 px / 8, as SD 1.5
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=TINY_BLOCK_OUT_CHANNELS,
        layers_per_block=1,
        down_block_types=SD15_DOWN_BLOCKS,
        up_block_types=SD15_UP_BLOCKS,
        cross_attention_dim=TINY_TEXT_HIDDEN,
        attention_head_dim=TINY_ATTENTION_HEADS,
        norm_num_groups=32,
    )


def _write_sd(folder: Path, tokenizer_dir: Path, in_channels: int) -> None:
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
    )
    from transformers import CLIPImageProcessor, CLIPTokenizer

    # SD 1.5's 4 blocks (×8 downsampling, 4 latent channels); its widths (128, 256, 512, 512) and 2 layers a
    # block shrunk. The first blocks run at full resolution: 16 channels there halve encode + decode time.
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=512,
    )
    # The same scheduler settings as SD 1.5's scheduler_config.json.
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline_class = StableDiffusionInpaintPipeline if in_channels == 9 else StableDiffusionPipeline
    pipe = pipeline_class(
        vae=vae,
        text_encoder=_tiny_text_encoder(),
        tokenizer=CLIPTokenizer.from_pretrained(str(tokenizer_dir)),
        unet=_tiny_unet(in_channels),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)


def _write_controlnet(folder: Path) -> None:
    from diffusers import ControlNetModel

    controlnet = ControlNetModel(
        in_channels=4,
        block_out_channels=TINY_BLOCK_OUT_CHANNELS,
        layers_per_block=1,
        down_block_types=SD15_DOWN_BLOCKS,
        cross_attention_dim=TINY_TEXT_HIDDEN,
        attention_head_dim=TINY_ATTENTION_HEADS,
        norm_num_groups=32,
        # Must downsample by the VAE's factor: 4 widths → 3 stride-2 convs → ×8 (SD 1.5: (16, 32, 96, 256)).
        conditioning_embedding_out_channels=(8, 16, 16, 32),
    )
    controlnet.save_pretrained(str(folder), safe_serialization=True)


def _write_depth(folder: Path) -> None:
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    # DPT-hybrid's 384 px input (24×24 patches of 16 px), width 32.
    config = DPTConfig(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=384,
        patch_size=16,
        backbone_out_indices=[0, 1, 2, 3],
        neck_hidden_sizes=[16, 16, 32, 32],
        fusion_hidden_size=16,
        head_in_index=-1,
        reassemble_factors=[4, 2, 1, 0.5],
    )
    DPTForDepthEstimation(config).save_pretrained(str(folder), safe_serialization=True)
    DPTImageProcessor(size={"height": 384, "width": 384}, keep_aspect_ratio=False).save_pretrained(
        str(folder)
    )


def _write_blip(folder: Path) -> None:
    from transformers import (
        BertTokenizerFast,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(specials + list(dict.fromkeys(_BLIP_WORDS))) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    vocab_size = len(tokenizer)
    config = BlipConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 384,  # BLIP base's input (24×24 patches of 16 px)
            "patch_size": 16,
        },
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "encoder_hidden_size": 32,
            "bos_token_id": tokenizer.convert_tokens_to_ids("[DEC]"),
            "pad_token_id": tokenizer.pad_token_id,
            "sep_token_id": tokenizer.sep_token_id,
        },
        projection_dim=32,
    )
    BlipForConditionalGeneration(config).save_pretrained(str(folder), safe_serialization=True)
    processor = BlipProcessor(
        image_processor=BlipImageProcessor(size={"height": 384, "width": 384}), tokenizer=tokenizer
    )
    processor.save_pretrained(str(folder))


def _write_matting(folder: Path) -> None:
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting, VitMatteImageProcessor

    # ViTMatte-small's geometry (VitDet backbone over image + trimap, 16 px patches, 14-wide windows, a
    # 224 px pretraining grid its position embeddings are interpolated from) at width 32 and 2 blocks.
    backbone = VitDetConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        mlp_ratio=2,
        image_size=512,
        pretrain_image_size=224,
        patch_size=16,
        num_channels=4,
        window_size=14,
        window_block_indices=[0],
        residual_block_indices=[],
        use_relative_position_embeddings=True,
        out_features=["stage2"],
    )
    config = VitMatteConfig(
        backbone_config=backbone,
        hidden_size=32,
        convstream_hidden_sizes=[8, 16, 32],
        fusion_hidden_sizes=[32, 16, 8, 8],
    )
    VitMatteForImageMatting(config).save_pretrained(str(folder), safe_serialization=True)
    VitMatteImageProcessor().save_pretrained(str(folder))


def _write_detector(folder: Path, tokenizer_dir: Path) -> None:
    from transformers import (
        CLIPTokenizer,
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    # OWLv2 base patch16's geometry (960 px padded square, 16 px patches: 60x60 tokens and boxes; 16-token
    # text queries over CLIP's BPE vocabulary) at width 32 and one layer per tower.
    config = Owlv2Config(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 1,
            "image_size": 960,
            "patch_size": 16,
        },
        projection_dim=32,
    )
    Owlv2ForObjectDetection(config).save_pretrained(str(folder), safe_serialization=True)
    tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_dir), model_max_length=16)
    Owlv2Processor(image_processor=Owlv2ImageProcessor(), tokenizer=tokenizer).save_pretrained(str(folder))
