"""`models download`: fetch the standard public weights on request (the only code that uses the network)."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.models.config import DEFAULT_ROLES, ROLES, ModelsConfig, user_models_dir


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
    "detector": Source(
        repo="google/owlv2-base-patch16-ensemble",
        patterns=("*.json", "*.txt", "model.safetensors"),  # config, processor, CLIP BPE vocab/merges
    ),
}


# About what `models download` fetches per role (the first-run dialog shows these before asking).
DOWNLOAD_SIZES = {
    "sam": 375_000_000,
    "clip": 605_000_000,
    "inpaint": 5_500_000_000,  # fp32 UNet + VAE + text encoder + the pipeline's safety checker
    "controlnet_depth": 1_450_000_000,
    "depth": 490_000_000,
    "txt2img": 5_500_000_000,
    "captioner": 990_000_000,
    "matting": 103_000_000,  # ViTMatte-S (~25 M parameters, fp32 safetensors)
    "detector": 620_000_000,
}

# progress(done, total): bytes for a direct URL, files for a hub repository (total None when unknown).
ProgressCallback = Callable[[float, float | None], None]


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


def download_role(
    role: str, dest: str | Path | None = None, progress: ProgressCallback | None = None
) -> Path:
    """Fetch one role's standard weights into `dest` (default: the user's model folder); return where
    they are. Raises OSError (no network included) or ValueError (a corrupt download) with the reason."""
    if role not in SOURCES:
        raise ValueError(f"no standard download for role {role!r}")
    if not _online():
        raise OSError("cannot reach huggingface.co: downloading needs the network")
    folder = Path(dest).expanduser() if dest else user_models_dir()
    target = folder / DEFAULT_ROLES[role]["path"].split("/")[0]
    _fetch(SOURCES[role], target, progress)
    return folder / DEFAULT_ROLES[role]["path"]


def _fetch(source: Source, target: Path, progress: ProgressCallback | None = None) -> None:
    if source.url:
        _fetch_url(source.url, target, source.sha256_prefix, progress)
        return
    from huggingface_hub import snapshot_download

    # huggingface_hub resumes interrupted files and checks each against the hub's hash.
    extra = {"tqdm_class": _reporting_tqdm(progress)} if progress else {}
    snapshot_download(source.repo, local_dir=str(target), allow_patterns=list(source.patterns), **extra)


def _reporting_tqdm(progress: ProgressCallback) -> type:
    from tqdm.auto import tqdm

    class Reporting(tqdm):  # huggingface_hub's "Fetching N files" bar, reported as files done
        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            progress(self.n, self.total)
            return shown

    return Reporting


def _fetch_url(url: str, target: Path, sha256_prefix: str, progress: ProgressCallback | None = None) -> None:
    """Download `url` to `target`, resumably: the bytes so far wait in `TARGET.part` (the one file written
    outside atomic.py, on purpose: it must survive an interruption), and the next try asks for the rest
    with a Range request. The whole file is checked against `sha256_prefix`, then renamed into place."""
    from tqdm import tqdm

    partial = target.with_name(target.name + ".part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            if have and response.status != 206:
                have = 0  # the server ignored the range: start over
            length = int(response.headers.get("Content-Length") or 0)
            total = have + length if length else None
            with (
                partial.open("ab" if have else "wb") as handle,
                tqdm(total=total, initial=have, unit="B", unit_scale=True, file=sys.stderr) as bar,
            ):
                while chunk := response.read(1 << 20):
                    handle.write(chunk)
                    bar.update(len(chunk))
                    if progress:
                        progress(bar.n, total)
            if total is not None and bar.n < total:  # http.client returns a cut body without an error
                raise http.client.IncompleteRead(b"", total - bar.n)
    except urllib.error.HTTPError as error:
        if not (have and error.code == 416):  # 416: nothing left to send, the part file is complete
            raise
    except http.client.HTTPException as error:
        raise OSError(f"download of {url} was interrupted ({error!r}); run it again to resume") from error
    digest = hashlib.sha256()
    with partial.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    if sha256_prefix and not digest.hexdigest().startswith(sha256_prefix):
        partial.unlink()
        raise ValueError(f"checksum mismatch for {url}: the download is corrupt; try again")
    os.replace(partial, target)
