"""Batch straight from a Neuroglancer precomputed layer == batch from files; round trips; MICrONS state.

Run: python benchmarks/precomputed.py [--synthetic 14] [--workers 2] [--out DIR]

1. A local precomputed layer is written with cloud-volume's own writer (legacy meshes, nm):
   the MICrONS mesh 864691135510518224 (nm), the 5 hemibrain DA1 meshes from navis' data
   (8 nm voxels -> nm), ``--synthetic`` synthetic neurons, and one segment whose fragment is
   truncated (corrupt); the id list also names a segment that is not in the layer (missing).
2. ``neurograph batch`` runs on the layer (a manifest with ``source, segment_id``, plus the
   MICrONS synapse table) and on a folder of ``.ply`` files holding the very same vertices
   (float32 nm, as the layer stores them) with the equivalent manifest.
3. The tables are compared (``neurons`` without ``path``/``kind``, ``branches``, ``spines``,
   ``synapses``: exact equality), the errors table is printed, and the layer batch also writes
   ``--precomputed`` output whose Neuroglancer state (MICrONS neuron and the others,
   skeletons coloured by compartment) is saved to ``benchmarks/results/``.
4. Round trips on the extracted MICrONS neuron: Neuron -> precomputed -> cloud-volume and
   Neuron -> navis -> Neuron (max coordinate error, labels equal).

The original MICrONS/hemibrain files differ from the layer's float32 nm vertices by the
float32 rounding shown in the output. Data: ../shared/data (MICrONS, CC-BY 4.0) and the navis
wheel (hemibrain, CC-BY 4.0); without ../shared/data only hemibrain + synthetic are used.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MICRONS_ID = 864691135510518224
MICRONS = SHARED / "microns_neurd" / f"{MICRONS_ID}_decimated_mesh.off"
MICRONS_SYN = SHARED / "microns_neurd" / f"{MICRONS_ID}_synapses.csv"
HEMIBRAIN = [1734350788, 1734350908, 722817260, 754534424, 754538881]
CORRUPT, MISSING = 31, 32
RESULTS = ROOT / "benchmarks" / "results"


def _inputs(work: Path, n_synthetic: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    import cloudvolume
    import navis
    import trimesh

    import neurograph as ng
    from neurograph import synthetic
    from neurograph.io.precomputed_write import create_layer

    layer = create_layer(work / "layer")
    files = work / "files"
    files.mkdir()
    meshes: dict[int, tuple[trimesh.Trimesh, str]] = {}
    if MICRONS.exists():
        meshes[MICRONS_ID] = (ng.load_mesh(MICRONS, voxel_size=1), "MICrONS")
    obj = Path(navis.__file__).parent / "data" / "obj"
    for sid in HEMIBRAIN:
        meshes[sid] = (ng.load_mesh(obj / f"{sid}.obj", voxel_size=8), "hemibrain")
    shapes = ("fragment", "bipolar", "multipolar", "pyramidal")
    for k in range(1, n_synthetic + 1):
        meshes[k] = (synthetic.make_neuron(seed=k, shape=shapes[k % len(shapes)]).mesh, "synthetic")
    meshes[CORRUPT] = (synthetic.make_neuron(seed=99, shape="fragment").mesh, "corrupt")
    rounding = {}
    layer_rows, file_rows = [], []
    for sid, (mesh, kind) in meshes.items():
        v32 = np.asarray(mesh.vertices, np.float32)
        rounding[kind] = max(rounding.get(kind, 0.0), float(np.abs(v32 - mesh.vertices).max()))
        layer.mesh.put(cloudvolume.Mesh(v32, np.asarray(mesh.faces, np.uint32), segid=sid))
        syn = str(MICRONS_SYN) if sid == MICRONS_ID else ""
        layer_rows.append({"source": str(work / "layer"), "segment_id": sid, "label": kind, "synapses": syn,
                           "synapse_voxel_size": "4 4 40" if syn else ""})
        if kind != "corrupt":
            trimesh.Trimesh(v32.astype(float), mesh.faces, process=False).export(files / f"{sid}.ply")
            file_rows.append({"id": str(sid), "path": str(files / f"{sid}.ply"), "label": kind, "synapses": syn,
                              "synapse_voxel_size": "4 4 40" if syn else ""})
    fragment = work / "layer" / "mesh" / f"{CORRUPT}:0:1.gz"
    import gzip

    fragment.write_bytes(gzip.compress(gzip.decompress(fragment.read_bytes())[:64]))   # truncated
    layer_rows.append({"source": str(work / "layer"), "segment_id": MISSING, "label": "missing", "synapses": "",
                       "synapse_voxel_size": ""})
    return pd.DataFrame(layer_rows), pd.DataFrame(file_rows), rounding


def _batch(manifest: Path, out: Path, workers: int, extra: list[str]) -> float:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "neurograph.cli", "batch", str(manifest), "-o", str(out), "--workers",
           str(workers), "--no-qc", "-q", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"batch failed: {done.stderr[-2000:]}")
    print(done.stdout.strip())
    return time.perf_counter() - t0


def _compare(a, b) -> list[str]:
    lines = []
    for name in ("neurons", "branches", "spines", "synapses"):
        x, y = getattr(a, name), getattr(b, name)
        if name == "neurons":
            x, y = x.drop(columns=["path", "kind"]), y.drop(columns=["path", "kind"])
        try:
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True))
            lines.append(f"  {name:9s} {len(x):6d} rows x {x.shape[1]:3d} columns: identical")
        except AssertionError as exc:
            lines.append(f"  {name:9s} DIFFERENT: {str(exc).splitlines()[0]}")
    return lines


def _round_trips(neuron, work: Path) -> list[str]:
    import cloudvolume
    from scipy.spatial import cKDTree

    import neurograph as ng
    from neurograph.graph.labels import node_compartments

    out = neuron.to_precomputed(work / "microns_layer", url="precomputed://http://localhost:9000")
    cv = cloudvolume.CloudVolume(f"file://{work / 'microns_layer'}", progress=False)
    skel = cv.skeleton.get(out["segment_id"])
    mesh = cv.mesh.get(out["segment_id"], remove_duplicate_vertices=False)
    sk = neuron.skeleton
    codes = ng.io.precomputed.COMPARTMENT_CODES
    lines = ["Round trips on the extracted MICrONS neuron "
             f"({sk.n_nodes} skeleton nodes, {len(neuron.mesh.faces)} mesh faces, {len(neuron.branches)} branches):",
             f"  Neuron -> precomputed -> cloud-volume: skeleton max |dx| = "
             f"{np.abs(skel.vertices - sk.vertices).max():.3g} nm (float32 of values up to "
             f"{np.abs(sk.vertices).max():.3g} nm); vertices == float32: "
             f"{np.array_equal(skel.vertices, sk.vertices.astype(np.float32))}; mesh vertices == float32: "
             f"{np.array_equal(mesh.vertices, np.asarray(neuron.mesh.vertices, np.float32))}, faces equal: "
             f"{np.array_equal(mesh.faces, neuron.mesh.faces)}",
             f"  compartment attribute == labels: "
             f"{np.array_equal(skel.compartment, [codes[c] for c in node_compartments(neuron)])}; branch attribute "
             f"== node_branch: {np.array_equal(skel.branch, neuron.node_branch)}; spines at vertices: "
             f"{int(skel.spine.sum())} of {len(neuron.spines) if neuron.spines is not None else 0}"]
    back = ng.load_skeleton(work / "microns_layer", out["segment_id"])
    dist, idx = cKDTree(back.skeleton.vertices).query(sk.vertices)
    lines.append(f"  precomputed -> neurograph (load_skeleton): max node distance {dist.max():.3g} nm, "
                 f"compartments equal: {np.array_equal(node_compartments(neuron), node_compartments(back)[idx])}, "
                 f"branches {len(back.branches)} vs {len(neuron.branches)}")
    tree = neuron.to_navis()
    again = ng.from_navis(tree)
    dist, idx = cKDTree(again.skeleton.vertices).query(sk.vertices)
    lines.append(f"  Neuron -> navis -> Neuron: max node distance {dist.max():.3g} nm, compartments equal: "
                 f"{np.array_equal(node_compartments(neuron), node_compartments(again)[idx])}, branch lengths "
                 f"equal: {np.allclose(np.sort(again.branches['length']), np.sort(neuron.branches['length']))}, "
                 f"connectors {len(tree.connectors)} -> synapses {len(again.synapses)} "
                 f"({int(again.synapses['mapped'].sum())} mapped)")
    state = json.loads(Path(out["state"]).read_text())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "microns_neuroglancer_state.json").write_text(json.dumps(state, indent=1))
    lines.append("  Neuroglancer state: benchmarks/results/microns_neuroglancer_state.json (serve the layer folder "
                 "at http://localhost:9000)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=14)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None, help="keep the work folder here (default: a temporary one)")
    parser.add_argument("--round-trips", default=None, metavar="WORK",
                        help="only redo the round trips, on the MICrONS neuron of a kept --out folder")
    args = parser.parse_args()
    if args.round_trips:
        from neurograph.batch import read_results

        work = Path(args.round_trips)
        shutil.rmtree(work / "microns_layer", ignore_errors=True)
        print("\n".join(_round_trips(read_results(work / "out_layer").neuron(str(MICRONS_ID)), work)))
        return
    work = Path(args.out or tempfile.mkdtemp(prefix="ng_precomputed_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    layer_rows, file_rows, rounding = _inputs(work, args.synthetic)
    layer_rows.to_csv(work / "layer_manifest.csv", index=False)
    file_rows.to_csv(work / "file_manifest.csv", index=False)
    print(f"layer: {len(layer_rows)} segment ids ({len(layer_rows) - 2} good, 1 corrupt, 1 missing): "
          f"{layer_rows['label'].value_counts().to_dict()}; written in {time.perf_counter() - t0:.0f} s")
    print("float32 rounding of the original files' nm coordinates in the layer (max |dx| nm): "
          + ", ".join(f"{k} {v:.3g}" for k, v in rounding.items()))
    t_layer = _batch(work / "layer_manifest.csv", work / "out_layer", args.workers,
                     ["--precomputed", str(work / "ng_out")])
    t_files = _batch(work / "file_manifest.csv", work / "out_files", args.workers, [])
    from neurograph.batch import read_results

    a, b = read_results(work / "out_layer"), read_results(work / "out_files")
    print(f"batch from the layer: {t_layer:.0f} s; from files: {t_files:.0f} s (ratio {t_layer / t_files:.2f}, "
          f"{args.workers} workers, same run)")
    print(f"extracted: layer {len(a.neurons)}, files {len(b.neurons)}")
    print("tables, layer batch vs file batch:")
    print("\n".join(_compare(a, b)))
    print("errors table of the layer batch:")
    print(a.errors[["neuron", "stage", "exception", "message"]].to_string(index=False, max_colwidth=110))
    graphs = a.graph_dataset()
    print(f"graph_dataset: {len(graphs)} graphs, {sum(g.n_nodes for g in graphs)} nodes, "
          f"{graphs[0].x.shape[1]} node features")
    ng_state = json.loads((work / "ng_out" / "neuroglancer_state.json").read_text())
    print(f"--precomputed output: {len(ng_state['layers'][0]['segments'])} segments in "
          f"{work / 'ng_out'} with neuroglancer_state.json")
    if str(MICRONS_ID) in set(a.neurons["neuron"]):
        print("\n".join(_round_trips(a.neuron(str(MICRONS_ID)), work)))
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
