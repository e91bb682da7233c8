"""models.toml round trips: paths stay as the user chose them (defect 5: saving from Settings → Models
rewrote the default CLIP path as a relative path under the config folder)."""

from __future__ import annotations

from engine.models.config import ModelsConfig


def test_saving_the_defaults_keeps_every_role_where_models_download_puts_it(tmp_path):
    defaults = ModelsConfig.defaults()
    saved = ModelsConfig.load(defaults.save(tmp_path / "config" / "models.toml"))
    for role, spec in defaults.roles.items():
        assert saved.spec(role).local_path() == spec.local_path(), role
        assert saved.spec(role).options == spec.options


def test_chosen_paths_are_written_as_chosen(tmp_path):
    file = tmp_path / "config" / "models.toml"
    file.parent.mkdir()
    file.write_text('[sam]\npath = "weights/sam_vit_h.pth"\nvariant = "vit_h"\n')
    elsewhere = tmp_path / "models" / "my clip.safetensors"
    config = ModelsConfig.load(file).with_role("clip", str(elsewhere), arch="ViT-B-32")
    config.save(file)
    text = file.read_text()
    assert 'path = "weights/sam_vit_h.pth"' in text  # relative to its own file, as the user wrote it
    assert str(elsewhere) in text
    again = ModelsConfig.load(file)
    assert again.spec("sam").local_path() == file.parent / "weights" / "sam_vit_h.pth"
    assert again.spec("clip").local_path() == elsewhere
