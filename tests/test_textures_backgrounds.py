"""Procedural textures on objects, procedural and photo backgrounds: pixels change, labels don't."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import vizsynth
from vizsynth.cli import main
from vizsynth.config import load_config
from vizsynth.errors import AssetError, ConfigError

SMALL = {"image": {"width": 160, "height": 120}, "objects": {"count": 4}}


def _inside_variance(frame) -> float:
    """Mean over objects of the colour variance inside each object's visible mask (edges eroded)."""
    values = []
    for a in frame.annotations.objects:
        inside = cv2.erode((frame.instance_ids == a.instance_id).astype(np.uint8), np.ones((3, 3), np.uint8))
        if inside.sum() > 100:
            values.append(frame.rgb[inside.astype(bool)].astype(float).var(axis=0).mean())
    return float(np.mean(values))


# Ambient light only: a plain material is one flat colour, so any variance inside is texture.
FLAT = {**SMALL, "lights": {"count": 0, "ambient": [1.0, 1.0, 1.0]}, "material": {"metallic": 0.0, "roughness": 1.0}}


@pytest.mark.gl
def test_textured_objects_show_texture():
    plain = [vizsynth.render_frame(FLAT, seed=1, index=i) for i in range(4)]
    textured = [vizsynth.render_frame({**FLAT, "material": {**FLAT["material"], "texture_probability": 1.0,
                                                            "textures": ["checker", "stripes"]}}, seed=1, index=i)
                for i in range(4)]
    for a, b in zip(plain, textured):
        np.testing.assert_array_equal(a.instance_ids, b.instance_ids)
    assert np.mean([_inside_variance(f) for f in textured]) > 4 * np.mean([_inside_variance(f) for f in plain])


@pytest.mark.gl
def test_procedural_background_changes_only_background_pixels():
    solid = vizsynth.render_frame(SMALL, seed=2, index=0)
    textured = vizsynth.render_frame({**SMALL, "background": {"kind": "procedural"}}, seed=2, index=0)
    np.testing.assert_array_equal(solid.instance_ids, textured.instance_ids)
    np.testing.assert_array_equal(solid.depth_m, textured.depth_m)
    background = solid.instance_ids == 0
    assert (textured.depth_m[background] == 0).all()
    far = cv2.erode(background.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # no antialiased edges
    assert textured.rgb[far].astype(float).std(axis=0).mean() > 5, "a texture, not a flat colour"
    assert solid.rgb[far].astype(float).std(axis=0).mean() < 1e-6
    # Away from object edges the objects look the same (compositing only fills the background).
    interior = cv2.erode((~background).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(textured.rgb[interior].astype(int) - solid.rgb[interior].astype(int)).max() <= 1


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        image = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (400, 300), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f"photo_{i}.png"), image)
    return folder


@pytest.mark.gl
def test_photo_backgrounds_replay_identically(photos, tmp_path, capsys):
    config = {**SMALL, "background": {"kind": "image", "image_folder": str(photos)}}
    out = tmp_path / "data"
    assert vizsynth.generate(config, out, num_frames=3, seed=4, progress=False).ok
    assert main(["replay", str(out), "--frame", "1", "--out", str(tmp_path / "again")]) == 0
    assert "4/4 files byte-identical" in capsys.readouterr().out
    frame = vizsynth.render_frame(config, seed=4, index=1)
    assert frame.spec.background.kind == "image" and frame.spec.background.path.startswith(str(photos))


@pytest.mark.parametrize("data, error, fragment", [
    ({"background": {"kind": "image"}}, ConfigError, "image_folder"),
    ({"background": {"kind": {"choice": ["solid", "video"]}}}, ConfigError, "video"),
    ({"material": {"texture_probability": 1.5}}, ConfigError, "material.texture_probability"),
    ({"material": {"textures": ["plaid"]}}, ConfigError, "material.textures.0"),
])
def test_bad_texture_and_background_values(data, error, fragment):
    with pytest.raises(error, match=fragment):
        load_config(data)


def test_missing_photo_folder_is_named(tmp_path):
    config = load_config({**SMALL, "background": {"kind": "image", "image_folder": str(tmp_path / "nope")}})
    with pytest.raises(AssetError, match="nope"):
        vizsynth.render_frame(config, seed=0, index=0)


ASSETS = Path(__file__).parents[1] / "assets"


@pytest.mark.gl
def test_bundled_image_textures_and_photos_render():
    config = {**SMALL, "material": {"texture_probability": 1.0, "textures": ["image"],
                                    "texture_folder": str(ASSETS / "textures")},
              "background": {"kind": "image", "image_folder": str(ASSETS / "backgrounds")}}
    frame = vizsynth.render_frame(config, seed=0, index=0)
    used = {o.material.texture.path for o in frame.spec.objects}
    assert used <= {str(p) for p in (ASSETS / "textures").iterdir()}
    assert frame.spec.background.path.startswith(str(ASSETS / "backgrounds"))
    licences = (ASSETS / "LICENSES.md").read_text()
    assert all(p.name in licences for folder in ("textures", "backgrounds") for p in (ASSETS / folder).iterdir())


@pytest.mark.gl
def test_splits_partition_the_pools_and_keep_category_ids(tmp_path):
    from vizsynth.assets.images import image_files, split_of

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(40):
        cv2.imwrite(str(folder / f"p{i:02d}.png"), np.full((4, 4, 3), i, np.uint8))
    pools = {s: set(image_files(str(folder), "photo", s, (0.6, 0.2, 0.2))) for s in ("train", "val", "test")}
    assert set.union(*pools.values()) == set(image_files(str(folder), "photo"))
    assert not (pools["train"] & pools["val"]) and not (pools["val"] & pools["test"])
    assert all(split_of(f, (0.6, 0.2, 0.2)) == s for s, files in pools.items() for f in files)

    meshes = Path(__file__).parent / "data" / "ycbv" / "models"
    config = {**SMALL, "objects": {"assets": [{"folder": str(meshes)}], "count": 6}}
    train = vizsynth.render_frame({**config, "split": {"use": "train", "fractions": [0.5, 0.5, 0.0]}}, seed=0, index=0)
    val = vizsynth.render_frame({**config, "split": {"use": "val", "fractions": [0.5, 0.5, 0.0]}}, seed=0, index=0)
    train_meshes = {o.mesh for o in train.spec.objects}
    val_meshes = {o.mesh for o in val.spec.objects}
    assert train_meshes and val_meshes and not (train_meshes & val_meshes)
    ids = {o.category: o.category_id for f in (train, val) for o in f.annotations.objects}
    names = sorted(p.stem for p in meshes.glob("*.ply"))
    assert all(ids[name] == names.index(name) + 1 for name in ids), "category ids come from the full catalog"


@pytest.mark.gl
def test_photo_textures_on_the_floor_change_only_floor_pixels():
    """Flat ambient light: a plain floor is one colour, a photo-textured one varies; labels stay."""
    floor = {"floor": True, "kind": "solid"}
    plain_config = {**FLAT, "objects": {"count": 2}, "background": floor,
                    "camera": {"elevation_deg": 80, "distance_m": {"uniform": [2.0, 3.0]}}}
    photo_config = {**plain_config, "material": {**FLAT["material"], "texture_folder": str(ASSETS / "textures")},
                    "background": {**floor, "floor_texture_probability": 1.0, "floor_textures": ["image"]}}
    for index in range(2):
        plain, photo = (vizsynth.render_frame(c, seed=2, index=index) for c in (plain_config, photo_config))
        np.testing.assert_array_equal(plain.instance_ids, photo.instance_ids)
        floor_id = next(o.instance_id for o in photo.spec.objects if o.primitive == "floor")
        assert next(o for o in plain.spec.objects if o.primitive == "floor").material.texture is None
        texture = next(o for o in photo.spec.objects if o.primitive == "floor").material.texture
        assert texture.kind == "image" and Path(texture.path).parent == ASSETS / "textures"
        inside = cv2.erode((photo.instance_ids == floor_id).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert inside.sum() > 500, "the floor should fill much of the view"
        assert plain.rgb[inside].astype(float).var(axis=0).mean() < 1.0
        assert photo.rgb[inside].astype(float).var(axis=0).mean() > 5.0  # the grey gravel photo: std ~4
        # Everything else is unchanged to the bit, but for pixels next to the floor, whose
        # antialiased samples blend in some floor colour.
        away = cv2.erode((photo.instance_ids != floor_id).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert away.sum() > 20, "the objects should cover more than their outlines"
        np.testing.assert_array_equal(plain.rgb[away], photo.rgb[away])


def test_floor_photos_need_a_texture_folder():
    with pytest.raises(ConfigError, match=r"floor_textures holds 'image'.*material.texture_folder"):
        load_config({"background": {"floor": True, "floor_textures": ["image"]}})
