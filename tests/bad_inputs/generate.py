"""Generate the hostile-input corpus: broken, odd and malicious files of every kind neurograph reads.

Nothing here is committed as a binary: ``generate(folder)`` writes every case into ``folder``
(a temporary folder in the tests) and returns the list of :class:`Case`. Run it by hand with
``python -m tests.bad_inputs.generate OUTDIR`` to look at the files.

Each case names the public entry points it goes through (``kind``): ``mesh`` (``extract``
and ``neurograph extract``), ``swc`` (``load_swc`` and ``neurograph features``),
``synapses`` (``Neuron.map_synapses`` and ``neurograph extract --synapses``), ``neuron``
(``neurograph.load`` and ``neurograph features``), ``model`` (``classify.load_model`` and
``neurograph predict``), ``table`` (``classify.train``/``cross_validate`` and ``neurograph
train``) and ``cli`` (argument mistakes). ``expect`` is ``"ok"`` (must succeed, possibly
with a warning), ``"error"`` (must raise a NeurographError / exit 1-3) or ``"either"``.
Files that would run code when unpickled write :data:`MARKER` into the corpus folder; the
harness asserts it never appears.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import trimesh

MARKER = "CODE_WAS_EXECUTED"
FORMATS = ("ply", "obj", "off", "stl")


@dataclass
class Case:
    """One hostile input: ``name``, ``kind`` (entry points), ``path``, ``expect`` and extra
    arguments (``voxel_size``, ``units``, ``labels``, ``argv``)."""

    name: str
    kind: str
    path: str
    expect: str = "error"
    args: dict[str, Any] = field(default_factory=dict)


class _Payload:
    """Unpickling this runs ``open(marker, 'w')``: a stand-in for any malicious pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _capsule(length: float = 20_000.0, radius: float = 1_500.0) -> trimesh.Trimesh:
    """A small valid 'neurite' mesh in nm."""
    return trimesh.creation.capsule(height=length, radius=radius, count=(12, 12))


def _write_text(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _meshes(d: str) -> list[Case]:
    cases = []
    good = _capsule()
    rng = np.random.default_rng(0)
    for fmt in FORMATS:
        cases.append(Case(f"empty.{fmt}", "mesh", _write_text(os.path.join(d, f"empty.{fmt}"), "")))
        data = good.export(file_type=fmt)
        data = data.encode() if isinstance(data, str) else data
        trunc = os.path.join(d, f"truncated.{fmt}")
        with open(trunc, "wb") as fh:
            fh.write(data[: len(data) // 3])
        cases.append(Case(f"truncated.{fmt}", "mesh", trunc))
        garbage = os.path.join(d, f"garbage.{fmt}")
        with open(garbage, "wb") as fh:
            fh.write(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
        cases.append(Case(f"garbage.{fmt}", "mesh", garbage))
    v, f = good.vertices.copy(), good.faces.copy()

    def obj(name: str, vertices: np.ndarray, faces: np.ndarray, one_based: bool = True) -> str:
        lines = [f"v {x} {y} {z}" for x, y, z in vertices]
        lines += ["f " + " ".join(str(i + 1 if one_based else i) for i in tri) for tri in faces]
        return _write_text(os.path.join(d, name), "\n".join(lines) + "\n")

    def off(name: str, vertices: np.ndarray, faces: np.ndarray) -> str:
        lines = ["OFF", f"{len(vertices)} {len(faces)} 0"] + [f"{x} {y} {z}" for x, y, z in vertices]
        lines += ["3 " + " ".join(map(str, tri)) for tri in faces]
        return _write_text(os.path.join(d, name), "\n".join(lines) + "\n")

    def ply(name: str, vertices: np.ndarray, faces: np.ndarray) -> str:
        head = ["ply", "format ascii 1.0", f"element vertex {len(vertices)}", "property float x",
                "property float y", "property float z", f"element face {len(faces)}",
                "property list uchar int vertex_indices", "end_header"]
        body = [f"{x} {y} {z}" for x, y, z in vertices] + ["3 " + " ".join(map(str, t)) for t in faces]
        return _write_text(os.path.join(d, name), "\n".join(head + body) + "\n")

    nan_v = v.copy()
    nan_v[5] = np.nan
    inf_v = v.copy()
    inf_v[7, 1] = np.inf
    cases.append(Case("nan_vertices.ply", "mesh", ply("nan_vertices.ply", nan_v, f)))
    cases.append(Case("inf_vertices.obj", "mesh", obj("inf_vertices.obj", inf_v, f)))
    big = f.copy()
    big[3, 1] = len(v) + 100
    cases.append(Case("face_index_out_of_range.off", "mesh", off("face_index_out_of_range.off", v, big)))
    neg = f.copy()
    neg[2, 0] = -5
    cases.append(Case("negative_face_index.off", "mesh", off("negative_face_index.off", v, neg)))
    # OBJ counts negative indices back from the last vertex (valid), and 0 is out of range
    cases.append(Case("negative_face_index.obj", "mesh", obj("negative_face_index.obj", v, neg, one_based=False),
                      "either"))
    degenerate = np.column_stack([f[:, 0], f[:, 0], f[:, 1]])
    cases.append(Case("only_degenerate_faces.ply", "mesh", ply("only_degenerate_faces.ply", v, degenerate)))
    tri = np.array([[0.0, 0, 0], [1000, 0, 0], [0, 1000, 0]])
    path = os.path.join(d, "one_triangle.stl")
    trimesh.Trimesh(tri, [[0, 1, 2]], process=False).export(path)
    cases.append(Case("one_triangle.stl", "mesh", path, "either"))
    specks = []
    for k, c in enumerate(rng.uniform(0, 200_000, (3000, 3))):
        specks.append(trimesh.creation.icosahedron().apply_scale(50.0).apply_translation(c))
    path = os.path.join(d, "thousands_of_specks.ply")
    trimesh.util.concatenate(specks).export(path)
    cases.append(Case("thousands_of_specks.ply", "mesh", path, "either"))
    path = os.path.join(d, "capsule_nm.ply")
    good.export(path)
    cases.append(Case("valid_capsule_nm.ply", "mesh", path, "ok"))
    cases.append(Case("nm_mesh_given_voxel_1000.ply", "mesh", path, args={"voxel_size": 1000}))
    path = os.path.join(d, "capsule_um.ply")
    good.copy().apply_scale(1e-3).export(path)
    cases.append(Case("um_mesh_read_as_nm.ply", "mesh", path))
    path = os.path.join(d, "capsule_8nm_voxels.obj")
    _capsule(60_000.0, 400.0).apply_scale(1 / 8).export(path)  # thin: no soma, read as nm -> warning
    cases.append(Case("voxel_mesh_read_as_nm.obj", "mesh", path, "ok", {"warns": True}))
    path = os.path.join(d, "points_only.ply")
    _write_text(path, "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                "property float z\nend_header\n0 0 0\n1 0 0\n0 1 0\n")
    cases.append(Case("point_cloud.ply", "mesh", path))
    path = os.path.join(d, "binary_stl_lying_count.stl")
    with open(path, "wb") as fh:
        fh.write(b"\0" * 80 + struct.pack("<I", 10**9) + b"\0" * 100)
    cases.append(Case("binary_stl_huge_count.stl", "mesh", path))
    cases.append(Case("unknown_suffix.xyz", "mesh", _write_text(os.path.join(d, "mesh.xyz"), "1 2 3\n")))
    return cases


def _swcs(d: str) -> list[Case]:
    def swc(name: str, lines: list[str], expect: str = "error", **args: Any) -> Case:
        return Case(name, "swc", _write_text(os.path.join(d, name), "\n".join(lines) + "\n"), expect,
                    {"units": "nm", **args})

    ok = ["1 1 0 0 0 5000 -1", "2 3 0 2000 0 500 1", "3 3 0 4000 0 400 2", "4 3 2000 6000 0 300 3",
          "5 3 -2000 6000 0 300 3"]
    cases = [
        swc("cycle.swc", ["1 3 0 0 0 1 3", "2 3 1 0 0 1 1", "3 3 2 0 0 1 2"]),
        swc("cycle_beside_a_tree.swc", ok + ["6 3 0 0 1 1 7", "7 3 0 0 2 1 6"]),
        swc("several_roots.swc", ok + ["6 3 50000 0 0 300 -1", "7 3 52000 0 0 300 6"], "ok"),
        swc("missing_parent.swc", ok + ["6 3 0 0 0 1 99"]),
        swc("duplicate_ids.swc", ok + ["3 3 0 0 0 1 1"]),
        swc("text_in_numbers.swc", ok + ["6 3 abc 0 0 1 5"]),
        swc("nan_coordinate.swc", ok + ["6 3 nan 0 0 1 5"]),
        swc("too_few_fields.swc", ok + ["6 3 0 0"]),
        swc("self_parent.swc", ok + ["6 3 0 0 0 1 6"]),
        swc("non_integer_ids.swc", ok + ["6.5 3 0 0 0 1 5"]),
        swc("empty.swc", []),
        swc("only_comments.swc", ["# just a header", "# nothing else"]),
        swc("negative_radius.swc", ok + ["6 3 0 9000 0 -1 5"], "ok"),
        swc("um_file_read_as_nm.swc", [f"{i + 1} 3 {i * 0.01} 0 0 0.1 {i if i else -1}" for i in range(50)], "ok",
            warns=True),
        swc("binary_garbage.swc", ["\x00\x01\x02 \xff garbage"]),
        swc("unknown_units.swc", ok, units="furlongs"),
        swc("voxel_without_size.swc", ok, units="voxel"),
    ]
    n = 200_000
    chain = np.column_stack([np.arange(1, n + 1), np.full(n, 3), np.arange(n) * 100.0, np.zeros(n), np.zeros(n),
                             np.full(n, 100.0), np.arange(n)])
    chain[0, 6] = -1
    path = os.path.join(d, "chain_200k.swc")
    np.savetxt(path, chain, fmt=["%d", "%d", "%.1f", "%.1f", "%.1f", "%.1f", "%d"])
    cases.append(Case("chain_200k_nodes.swc", "swc", path, "ok", {"units": "nm"}))
    return cases


def _synapses(d: str) -> list[Case]:
    rng = np.random.default_rng(1)
    good = _capsule()
    pts = trimesh.sample.sample_surface(good, 40, seed=2)[0]
    base = pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "z": pts[:, 2],
                         "direction": rng.choice(["pre", "post"], len(pts))})

    def table(name: str, df: pd.DataFrame, expect: str = "error", **args: Any) -> Case:
        path = os.path.join(d, name)
        df.to_csv(path, index=False)
        return Case(name, "synapses", path, expect, args)

    nan = base.copy()
    nan.loc[3, "x"] = np.nan
    text = base.astype(object)
    text.loc[4, "y"] = "twelve"
    odd = base.copy()
    odd["direction"] = "sideways"
    cases = [
        table("synapses_ok.csv", base, "ok"),
        table("synapses_missing_columns.csv", base.drop(columns=["z", "direction"])),
        table("synapses_nan.csv", nan),
        table("synapses_in_voxels.csv", base.assign(x=base.x / 4, y=base.y / 4, z=base.z / 40)),
        table("synapses_far_away.csv", base.assign(x=base.x + 5e7)),
        table("synapses_empty.csv", base.iloc[:0]),
        table("synapses_text_in_numbers.csv", text),
        table("synapses_unknown_direction.csv", odd),
        table("synapses_far_not_strict.csv", base.assign(x=base.x + 5e8), "either", strict=False),
    ]
    path = os.path.join(d, "synapses_corrupt.parquet")
    with open(path, "wb") as fh:
        fh.write(b"PAR1" + rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    cases.append(Case("synapses_corrupt.parquet", "synapses", path))
    return cases


def _neurons(d: str, valid_zip: str | None) -> list[Case]:
    cases = []
    path = os.path.join(d, "not_a_zip.neuron.zip")
    _write_text(path, "hello")
    cases.append(Case("neuron_not_a_zip", "neuron", path))
    if valid_zip is None:
        return cases
    data = open(valid_zip, "rb").read()
    path = os.path.join(d, "truncated.neuron.zip")
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])
    cases.append(Case("neuron_truncated", "neuron", path))
    with zipfile.ZipFile(valid_zip) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    variants = {
        "neuron_zip_slip": {**members, "../../escaped.csv": b"a,b\n1,2\n"},
        "neuron_absolute_member": {**members, "/tmp/abs.csv": b"a\n1\n"},
        "neuron_missing_arrays": {k: v for k, v in members.items() if k != "arrays.npz"},
        "neuron_other_format": {**members, "meta.json": json.dumps({"format": "something-else"}).encode()},
        "neuron_garbled_meta": {**members, "meta.json": b"{not json"},
        "neuron_meta_without_somas": {**members, "meta.json": json.dumps({"format": "neurograph-neuron",
                                                                          "version": 1, "name": "x"}).encode()},
    }
    import io

    buf = io.BytesIO()
    np.savez(buf, evil=np.array([_Payload(os.path.join(d, MARKER))], dtype=object))
    variants["neuron_pickled_arrays"] = {**members, "arrays.npz": buf.getvalue()}
    for name, content in variants.items():
        path = os.path.join(d, f"{name}.neuron.zip")
        with zipfile.ZipFile(path, "w") as zf:
            for member, blob in content.items():
                zf.writestr(member, blob)
        cases.append(Case(name, "neuron", path))
    cases.append(Case("neuron_valid", "neuron", valid_zip, "ok"))
    return cases


def _models(d: str, table: pd.DataFrame) -> list[Case]:
    import joblib
    import skops.io as sio

    from neurograph import classify

    cases = []
    model = classify.train(table.drop(columns=["label"]), table["label"], model="logistic")
    good = os.path.join(d, "model_ok")
    classify.save_model(model, good, label="label")
    cases.append(Case("model_valid", "model", good, "ok"))
    meta = json.load(open(os.path.join(good, "model.json")))

    def folder(name: str, files: dict[str, bytes]) -> Case:
        path = os.path.join(d, name)
        os.makedirs(path, exist_ok=True)
        for fname, blob in files.items():
            with open(os.path.join(path, fname), "wb") as fh:
                fh.write(blob)
        return Case(name, "model", path)

    blob = open(os.path.join(good, "model.skops"), "rb").read()
    meta_b = json.dumps(meta).encode()
    pickled = os.path.join(d, "payload.joblib")
    joblib.dump(_Payload(os.path.join(d, MARKER)), pickled)
    cases.append(folder("model_pickle_payload", {"model.json": meta_b, "model.joblib": open(pickled, "rb").read()}))
    cases.append(folder("model_truncated", {"model.json": meta_b, "model.skops": blob[: len(blob) // 2]}))
    cases.append(folder("model_garbled_json", {"model.json": b"{oops", "model.skops": blob}))
    cases.append(folder("model_empty_file", {"model.json": meta_b, "model.skops": b""}))
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    evil = Pipeline([("x", FunctionTransformer(os.system))])
    path = os.path.join(d, "evil.skops")
    sio.dump(evil, path)
    cases.append(folder("model_untrusted_type", {"model.json": meta_b, "model.skops": open(path, "rb").read()}))
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(buf, "w") as dst:
        for n in src.namelist():
            dst.writestr(n, src.read(n))
        dst.writestr("../../escaped.txt", b"x")
    cases.append(folder("model_zip_slip", {"model.json": meta_b, "model.skops": buf.getvalue()}))
    cases.append(Case("model_missing_folder", "model", os.path.join(d, "no_such_model")))
    return cases


def _tables(d: str) -> tuple[list[Case], pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 30
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["f1", "f2", "f3", "f4"],
                     index=pd.Index([f"n{i}" for i in range(n)], name="neuron"))
    X["f1"] += np.repeat([0.0, 3.0, 6.0], n // 3)
    base = X.assign(label=np.repeat(["a", "b", "c"], n // 3))
    cases = []

    def table(name: str, df: pd.DataFrame, expect: str, **args: Any) -> Case:
        path = os.path.join(d, name)
        if name.endswith(".parquet"):
            df.to_parquet(path)
        else:
            df.to_csv(path)
        return Case(name, "table", path, expect, args)

    labels = {"labels_numeric_strings": np.repeat(["4", "2/3", "6a"], n // 3),
              "labels_ints": np.repeat([4, 23, 6], n // 3),
              "labels_mixed": np.array([4, "2/3", 6.5] * (n // 3), dtype=object),
              "labels_floats": np.repeat([0.5, 1.5, 2.5], n // 3),
              "labels_bools": np.repeat([True, False, True], n // 3),
              "labels_unicode": np.repeat(["Martinotti–cell", "Пирамида", "星形"], n // 3)}
    for name, lab in labels.items():
        cases.append(table(f"{name}.parquet" if name != "labels_mixed" else f"{name}.csv",
                           X.assign(label=lab), "ok"))
    cases.append(table("labels_one_class.csv", X.assign(label="a"), "error"))
    cases.append(table("labels_all_missing.csv", X.assign(label=np.nan), "error"))
    cases.append(table("features_all_nan.csv", base.assign(f1=np.nan, f2=np.nan, f3=np.nan, f4=np.nan), "error"))
    cases.append(table("features_text_only.csv", base.assign(f1="x", f2="y", f3="z", f4="w"), "error"))
    cases.append(table("labels_tiny_classes.csv", base.assign(label=["a"] * 28 + ["b", "c"]), "either"))
    path = os.path.join(d, "latin1.csv")
    with open(path, "wb") as fh:
        fh.write("neuron,f1,f2,label\n".encode())
        for i in range(n):
            fh.write(f"n{i},{i},{i % 3},{'Zelle-ä' if i % 2 else 'Zelle-é'}\n".encode("latin-1"))
    cases.append(Case("latin1.csv", "table", path, "ok"))
    path = os.path.join(d, "corrupt.parquet")
    with open(path, "wb") as fh:
        fh.write(b"PAR1" + rng.integers(0, 256, 300, dtype=np.uint8).tobytes() + b"PAR1")
    cases.append(Case("corrupt.parquet", "table", path))
    path = os.path.join(d, "empty.csv")
    _write_text(path, "")
    cases.append(Case("empty.csv", "table", path))
    return cases, base


def generate(folder: str, valid_neuron_zip: str | None = None) -> list[Case]:
    """Write the corpus into ``folder`` and return its cases.

    Parameters
    ----------
    folder : str
        Output folder (created).
    valid_neuron_zip : str, optional
        A saved neuron (``Neuron.save``) to damage in the ``neuron`` cases; without it only
        the non-zip case is made.

    Returns
    -------
    list of Case
    """
    os.makedirs(folder, exist_ok=True)
    subs = {}
    for sub in ("meshes", "swc", "synapses", "neurons", "models", "tables"):
        subs[sub] = os.path.join(folder, sub)
        os.makedirs(subs[sub], exist_ok=True)
    tables, base = _tables(subs["tables"])
    return (_meshes(subs["meshes"]) + _swcs(subs["swc"]) + _synapses(subs["synapses"])
            + _neurons(subs["neurons"], valid_neuron_zip) + _models(subs["models"], base) + tables)


if __name__ == "__main__":  # pragma: no cover
    out = sys.argv[1] if len(sys.argv) > 1 else "bad_inputs_corpus"
    for case in generate(out):
        print(f"{case.kind:9s} {case.expect:6s} {case.name}")
