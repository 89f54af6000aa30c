"""Model bundles appear whole or not at all; the active-model pointer moves in one step."""

from __future__ import annotations

import pytest

from custseg import model_store


def _bundle(model_dir, version):
    with model_store.new_bundle(model_dir, version) as scratch:
        model_store.write_manifest(scratch, {"version": version})


def test_a_failed_bundle_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError), model_store.new_bundle(tmp_path, "v1") as scratch:
        (scratch / "part").write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_a_version_is_never_overwritten(tmp_path):
    _bundle(tmp_path, "v1")
    with pytest.raises(FileExistsError, match="model version v1 already exists"):
        _bundle(tmp_path, "v1")


def test_the_active_pointer_names_the_last_version_made_active(tmp_path):
    assert model_store.active_version(tmp_path) is None
    _bundle(tmp_path, "v1")
    _bundle(tmp_path, "v2")
    model_store.set_active(tmp_path, "v1")
    assert model_store.active_version(tmp_path) == "v1"
    model_store.set_active(tmp_path, "v2")
    assert model_store.active_version(tmp_path) == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == [model_store.ACTIVE, "v1", "v2"]


def test_only_a_complete_bundle_can_become_active(tmp_path):
    (tmp_path / "v1").mkdir()
    with pytest.raises(FileNotFoundError, match="model version v1 has no bundle"):
        model_store.set_active(tmp_path, "v1")
    assert model_store.active_version(tmp_path) is None
