"""Wall time and peak memory per pipeline stage on real meshes, with skeletor's wavefront
skeletonization on the same meshes as the baseline, and accuracy against references.

Run: python benchmarks/pipeline.py  (uses ../shared/data when present, else navis' copy)
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

import neurograph as ng

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NEURD_SOMAS = np.array([(1_488_881, 589_300, 1_100_652), (1_472_183, 577_993, 1_112_354)], float)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hemibrain_dir() -> Path:
    if (SHARED / "hemibrain_da1").exists():
        return SHARED / "hemibrain_da1"
    import navis

    return Path(os.path.dirname(navis.__file__)) / "data"


def baseline(mesh) -> tuple[float, float, int]:
    import skeletor as sk

    t = time.perf_counter()
    fixed = sk.pre.fix_mesh(mesh, remove_disconnected=False, inplace=False)
    skel = sk.skeletonize.by_wavefront(fixed, waves=1, step_size=1, progress=False)
    seconds = time.perf_counter() - t
    length = float(np.linalg.norm(skel.vertices[skel.edges[:, 0]] - skel.vertices[skel.edges[:, 1]], axis=1).sum())
    return seconds, length, len(skel.roots)


def run(path: Path, voxel: float, ref_cable_nm: float | None, ref_somas: np.ndarray | None) -> None:
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    neuron = ng.extract(path, voxel_size=voxel, progress=lambda s, sec: stages.__setitem__(s, sec))
    total = time.perf_counter() - t0
    mesh = ng.load_mesh(path, voxel_size=voxel)
    b_sec, b_len, b_roots = baseline(mesh)
    cable = neuron.skeleton.cable_length
    line = (f"{path.stem[:22]:22s} faces {len(mesh.faces):7d} | " + " ".join(f"{k} {v:5.2f}" for k, v in stages.items())
            + f" | total {total:5.2f} s peakRSS {peak_mb():6.0f} MB | somas {neuron.n_somas} "
            f"branches {len(neuron.branches):5d} cable {cable / 1e3:7.1f} µm")
    if ref_cable_nm:
        line += f" ({cable / ref_cable_nm:.2f} of ref)"
    line += f" | skeletor wavefront {b_sec:5.2f} s, {b_len / 1e3:7.1f} µm"
    if ref_cable_nm:
        line += f" ({b_len / ref_cable_nm:.2f} of ref)"
    line += f", {b_roots} pieces"
    print(line, flush=True)
    if ref_somas is not None:
        for ref in ref_somas:
            d = min((np.linalg.norm(s.center - ref) for s in neuron.somas), default=np.inf)
            print(f"    soma reference {ref.astype(int).tolist()}: nearest found {d / 1e3:.2f} µm away")
    area_in = neuron.repair_report["area_in_um2"]
    print(f"    mesh area assigned to branches/somata: {neuron.mesh.area / 1e6 / area_in:.3f} of input; "
          f"repair kept {neuron.repair_report['components_kept']}/{neuron.repair_report['components_in']} pieces")


def main() -> int:
    import navis

    print(f"neurograph {ng.__version__}; python {sys.version.split()[0]}; {os.cpu_count()} cores")
    hb = hemibrain_dir()
    for obj in sorted((hb / "obj").glob("*.obj")):
        ref = navis.read_swc(hb / "swc" / f"{obj.stem}.swc")
        soma = None
        if ref.soma is not None:
            soma = ref.nodes.set_index("node_id").loc[[ref.soma] if np.isscalar(ref.soma) else ref.soma,
                                                      ["x", "y", "z"]].to_numpy(float) * 8
        run(obj, 8.0, float(ref.cable_length) * 8, soma)
    microns = SHARED / "microns_neurd" / "864691135510518224_decimated_mesh.off"
    if microns.exists():
        run(microns, 1.0, None, NEURD_SOMAS)
    else:
        print("MICrONS mesh not found (../shared/data): skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
