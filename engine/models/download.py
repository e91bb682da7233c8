"""`models download`: fetch the standard public weights on request (the only code that uses the network)."""

from __future__ import annotations

import hashlib
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from engine.models.config import DEFAULT_ROLES, ROLES, ModelsConfig, user_models_dir
from engine.runtime.atomic import atomic_writer


@dataclass(frozen=True)
class Source:
    """A direct URL (with the SHA-256 prefix the publisher put in its name) or a hub repository."""

    url: str = ""
    sha256_prefix: str = ""
    repo: str = ""
    patterns: tuple[str, ...] = ()


_DIFFUSERS = (
    "model_index.json",
    "*/*.json",
    "*/*.txt",
    "*/diffusion_pytorch_model.safetensors",
    "*/model.safetensors",
)

SOURCES = {
    # Meta publishes the first 6 hex digits of each checkpoint's SHA-256 in its file name.
    "sam": Source(
        url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth", sha256_prefix="01ec64"
    ),
    "clip": Source(
        repo="laion/CLIP-ViT-B-32-laion2B-s34B-b79K", patterns=("open_clip_model.safetensors", "*.json")
    ),
    "inpaint": Source(repo="stable-diffusion-v1-5/stable-diffusion-inpainting", patterns=_DIFFUSERS),
    "controlnet_depth": Source(
        repo="lllyasviel/control_v11f1p_sd15_depth",
        patterns=("config.json", "diffusion_pytorch_model.safetensors"),
    ),
    "depth": Source(repo="Intel/dpt-hybrid-midas", patterns=("*.json", "model.safetensors")),
    "txt2img": Source(repo="stable-diffusion-v1-5/stable-diffusion-v1-5", patterns=_DIFFUSERS),
    "captioner": Source(
        repo="Salesforce/blip-image-captioning-base", patterns=("*.json", "*.txt", "model.safetensors")
    ),
    "matting": Source(repo="hustvl/vitmatte-small-composition-1k", patterns=("*.json", "*.safetensors")),
}


def _online(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def download_roles(config: ModelsConfig, roles: list[str], dest: str | None = None) -> bool:
    """Fetch `roles` (default: all) into `dest` (default: the user's model folder). True if all succeeded."""
    roles = roles or list(ROLES)
    unknown = [r for r in roles if r not in SOURCES]
    if unknown:
        print(f"error: unknown role(s) {unknown}; known: {', '.join(ROLES)}", file=sys.stderr)
        return False
    if not _online():
        print(
            "error: cannot reach huggingface.co: `models download` needs the network. "
            "Copy the weights by hand and point models.toml at them (see README: Models).",
            file=sys.stderr,
        )
        return False
    folder = Path(dest).expanduser() if dest else user_models_dir()
    ok = True
    for role in roles:
        target = folder / DEFAULT_ROLES[role]["path"].split("/")[0]
        print(f"{role}: downloading into {target}", file=sys.stderr)
        try:
            _fetch(SOURCES[role], target)
        except (OSError, urllib.error.URLError, ValueError) as error:
            print(f"error: {role}: {error}", file=sys.stderr)
            ok = False
    if ok and dest:
        print(f"done; point models.toml at {folder} (`python main.py models status` checks it)")
    return ok


def _fetch(source: Source, target: Path) -> None:
    if source.url:
        _fetch_url(source.url, target, source.sha256_prefix)
        return
    from huggingface_hub import snapshot_download

    snapshot_download(source.repo, local_dir=str(target), allow_patterns=list(source.patterns))


def _fetch_url(url: str, target: Path, sha256_prefix: str) -> None:
    from tqdm import tqdm

    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=30) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            atomic_writer(target) as handle,
            tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr) as bar,
        ):
            while chunk := response.read(1 << 20):
                handle.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
            if sha256_prefix and not digest.hexdigest().startswith(sha256_prefix):
                raise ValueError(f"checksum mismatch for {url}: the download is corrupt; try again")
