"""Files as people write them: mistakes that used to load as wrong neurons, or lose data, without a
word (a review of the file readers, the saved-neuron format, the batch store and the command line;
each case failed before its fix)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph.errors import DataWarning, FormatError, MeshError

SWC = """1 1 0 0 0 5 -1
2 3 10 0 0 1 1
3 3 20 0 0 1 2
4 3 30 0 0 1 3
5 3 20 10 0 1 3
6 3 20 20 0 1 5
7 2 -10 0 0 0.5 1
8 2 -20 0 0 0.5 7
9 2 -30 5 0 0.5 8
"""


def _cable_um(neuron) -> float:
    sk = neuron.skeleton
    child = np.flatnonzero(sk.parent >= 0)
    return float(np.linalg.norm(sk.vertices[child] - sk.vertices[sk.parent[child]], axis=1).sum()) / 1e3


# ------------------------------------------------------------------------------------------ meshes
@pytest.mark.parametrize("extra", ["", "vn 0 0 1\n"])  # the fast reader, and trimesh's for anything unusual
def test_an_obj_with_0_based_faces_is_refused(tmp_path, extra):
    """OBJ indices start at 1; trimesh reads 0 as the last vertex, so a 0-based file became a
    garbage mesh (~1000x the area)."""
    box = trimesh.creation.box(extents=(4000, 5000, 6000))
    lines = [f"v {x} {y} {z}" for x, y, z in box.vertices]
    good, bad = tmp_path / "good.obj", tmp_path / "bad.obj"
    good.write_text(extra + "\n".join(lines + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in box.faces]) + "\n")
    bad.write_text(extra + "\n".join(lines + [f"f {a} {b} {c}" for a, b, c in box.faces]) + "\n")
    assert ng.load_mesh(good, voxel_size=1).area == pytest.approx(box.area)
    with pytest.raises(MeshError, match="start at 1"):
        ng.load_mesh(bad, voxel_size=1)


# ------------------------------------------------------------------------------------------ SWC
def test_an_swc_with_a_byte_order_mark_keeps_its_first_node(tmp_path):
    """Notepad / Excel write UTF-8 with a BOM: its first node was taken for a header and dropped
    (a tip first: 8 of 9 nodes, cable short, no word)."""
    lines = SWC.splitlines()
    unsorted = "\n".join(lines[::-1]) + "\n"  # a tip first
    plain, bom = tmp_path / "plain.swc", tmp_path / "bom.swc"
    plain.write_text(unsorted)
    bom.write_text(unsorted, encoding="utf-8-sig")
    a, b = (ng.load_swc(p, units="um") for p in (plain, bom))
    assert b.skeleton.n_nodes == a.skeleton.n_nodes == 9
    assert _cable_um(b) == pytest.approx(_cable_um(a))


def test_an_swc_with_decimal_commas_is_refused(tmp_path):
    """'0,5' in a space-separated line was split at the comma: radius 0, parent 5, the tree rewired."""
    comma = tmp_path / "comma.swc"
    comma.write_text(SWC.replace("0.5", "0,5"))
    with pytest.raises(FormatError, match="decimal commas"):
        ng.load_swc(comma, units="um")
    # comma-separated files stay readable
    csv = tmp_path / "csv.swc"
    csv.write_text("\n".join(",".join(ln.split()) for ln in SWC.splitlines()) + "\n")
    assert ng.load_swc(csv, units="um").skeleton.n_nodes == 9


def test_two_somata_in_one_swc_tree_are_cut_apart_with_a_warning(tmp_path):
    """Every soma becomes a root, so a tree holding two was cut between them, silently."""
    one, two = tmp_path / "one.swc", tmp_path / "two.swc"
    one.write_text(SWC + "10 3 40 0 0 1 4\n")
    two.write_text(SWC + "10 1 40 0 0 5 4\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert _cable_um(ng.load_swc(one, units="um")) == pytest.approx(91.2, abs=0.1)
    with pytest.warns(DataWarning, match="2 somata .* share one tree.*split_somas"):
        n = ng.load_swc(two, units="um")
    assert len(n.somas) == 2 and _cable_um(n) < 91.2 - 5


# ------------------------------------------------------------------------------------------ writing
def test_a_batch_resume_keeps_a_neuron_whose_id_holds_tmp(tmp_path):
    """Resuming removed every file with '.tmp-' in its name: a finished neuron with such an id
    (legal) lost its outputs on every resume."""
    from neurograph.batch import extract_all, read_results

    src = tmp_path / "in"
    src.mkdir()
    (src / "cell.tmp-1.swc").write_text(SWC)
    (src / "other.swc").write_text(SWC.replace("0.5", "0.6"))
    out = tmp_path / "out"
    extract_all(src, out, units="um", workers=1, qc=False, progress=False, isolate=False)
    extract_all(src / "other.swc", out, units="um", workers=1, qc=False, progress=False, isolate=False)  # resume
    assert sorted(read_results(out).features().index) == ["cell.tmp-1", "other"]
    assert (out / "neuron_files" / "cell.tmp-1.neuron.zip").exists()


def test_a_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A full disk (here: the archive's last table fails to write) left '<path>.tmp-<pid>' behind."""
    import zipfile

    neuron = ng.load_swc(_write(tmp_path / "a.swc", SWC), units="um")
    real = zipfile.ZipFile.writestr

    def full_disk(self, name, data, *args, **kwargs):
        if str(name).endswith(".csv"):
            raise OSError(28, "No space left on device")
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full_disk)
    with pytest.raises(OSError, match="No space"):
        neuron.save(tmp_path / "a.neuron.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.swc"]


def _write(path, text: str):
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------ user columns
def test_a_saved_neuron_keeps_the_types_of_a_users_synapse_columns(tmp_path):
    """Tables were stored as CSV and re-typed on reading: 18-digit partner ids with a missing value
    came back as rounded floats, the text '007' as 7, '' as NaN."""
    import pandas as pd

    from neurograph import synthetic

    cell = synthetic.make_neuron(seed=2)
    syn = synthetic.sample_synapses(cell)
    syn["partner_root_id"] = pd.array([864691135510518225 + i for i in range(len(syn))], dtype="Int64")
    syn.loc[syn.index[2], "partner_root_id"] = pd.NA
    syn["roi"] = "007"
    syn["flag"] = "True"
    syn.loc[syn.index[0], "flag"] = ""
    n = ng.extract(cell.mesh, voxel_size=1, synapses=syn, synapse_voxel_size=1, spines=False)
    n.save(tmp_path / "n.neuron.zip")
    back = ng.load(tmp_path / "n.neuron.zip")
    for col in ("partner_root_id", "roi", "flag"):
        assert back.synapses[col].dtype == n.synapses[col].dtype, col
        pd.testing.assert_series_equal(back.synapses[col], n.synapses[col], check_index_type=False)
    pd.testing.assert_frame_equal(back.branches, n.branches)


def test_the_batch_store_keeps_integer_ids_with_missing_values():
    """Nullable integers were stored as float64: 864691135510518225 came back ...272."""
    import tempfile

    import pandas as pd

    from neurograph.batch import store

    with tempfile.TemporaryDirectory() as out:
        store.make_layout(out)
        store.write_table(out, "synapses", "a", pd.DataFrame(
            {"neuron": ["a", "a"], "pid": pd.array([864691135510518225, None], dtype="Int64"), "n": [1, 2]}))
        store.write_table(out, "synapses", "b", pd.DataFrame(
            {"neuron": ["b"], "pid": pd.array([864691135510518226], dtype="Int64"), "n": [3]}))
        got = store._read_parts(out, "synapses", ["a", "b"])
    assert got["pid"].tolist() == [864691135510518225, pd.NA, 864691135510518226]
    assert got["n"].dtype == np.int64
