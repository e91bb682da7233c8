"""Model hashes as A1111 computes them, remembered across runs until the file changes."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from engine.models import hashes


def safetensors_bytes(metadata: dict, payload: bytes) -> bytes:
    tensor = {"dtype": "U8", "shape": [len(payload)], "data_offsets": [0, len(payload)]}
    header = json.dumps({"__metadata__": metadata, "w": tensor}).encode()
    return len(header).to_bytes(8, "little") + header + payload


def test_lora_hash_covers_the_tensors_not_the_metadata(tmp_path):
    payload = bytes(range(256)) * 64
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    first.write_bytes(safetensors_bytes({"ss_output_name": "a"}, payload))
    second.write_bytes(safetensors_bytes({"ss_output_name": "renamed", "note": "x" * 50}, payload))
    assert (
        hashes.lora_shorthash(first)
        == hashes.lora_shorthash(second)
        == hashlib.sha256(payload).hexdigest()[:12]
    )


def test_checkpoint_hash_of_a_file_and_of_a_diffusers_folder(tmp_path):
    file = tmp_path / "model.safetensors"
    file.write_bytes(os.urandom(3000))
    assert hashes.checkpoint_shorthash(file) == hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    unet = tmp_path / "folder" / "unet"
    unet.mkdir(parents=True)
    (unet / "diffusion_pytorch_model.safetensors").write_bytes(b"unet weights")
    assert (
        hashes.checkpoint_shorthash(tmp_path / "folder") == hashlib.sha256(b"unet weights").hexdigest()[:10]
    )
    assert hashes.checkpoint_shorthash(tmp_path / "missing") is None
    big = tmp_path / "control.safetensors"
    data = os.urandom(0x100000 + 0x10000 + 10)
    big.write_bytes(data)
    assert hashes.controlnet_hash(big) == hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]


def test_a_hash_is_remembered_on_disk_until_the_file_changes(tmp_path, monkeypatch):
    file = tmp_path / "model.ckpt"
    file.write_bytes(b"one")
    expected = hashlib.sha256(b"one").hexdigest()
    assert hashes.sha256_file(file) == expected
    monkeypatch.setattr(hashes, "_cache", {})  # a new process

    def no_hashing(*args):
        raise AssertionError("hashed again")

    monkeypatch.setattr(hashes, "_sha256_from", no_hashing)
    assert hashes.sha256_file(file) == expected  # from the user's cache folder
    file.write_bytes(b"two!")  # another size: the stored hash no longer applies
    with pytest.raises(AssertionError, match="hashed again"):
        hashes.sha256_file(file)
