"""Synapse -> mesh surface mapping: bounded memory and the same answer as trimesh.

Compares :func:`neurograph.synapses.mapping.closest_surface_points` with
``trimesh.proximity.closest_point`` on the MICrONS mesh of the shared data
(``../shared/data/microns_neurd``) and its 965 synapses:

1. in the right units (4 x 4 x 40 nm voxels): distances and faces, time;
2. in the wrong units (voxels read as nm, the README example with ``--synapse-voxel-size``
   forgotten): peak memory (tracemalloc) of both on the first N synapses, and the unit check
   of ``map_synapses`` that now refuses the table before mapping.

Usage: ``python benchmarks/synapse_mapping_memory.py`` (output: benchmarks/results/synapse_mapping_memory.txt)
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd
import trimesh

from neurograph.synapses.mapping import closest_surface_points

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "microns_neurd")
if not os.path.isdir(DATA):
    DATA = "/work/shared/data/microns_neurd"


def peak(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, top / 2**20, seconds


def main() -> None:
    mesh = trimesh.load(os.path.join(DATA, "864691135510518224_decimated_mesh.off"), process=False)
    syn = pd.read_csv(os.path.join(DATA, "864691135510518224_synapses.csv"))
    vox = syn[["synapse_x", "synapse_y", "synapse_z"]].to_numpy(float)
    nm = vox * np.array([4.0, 4.0, 40.0])
    print(f"mesh: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces; {len(nm)} synapses")

    (c1, d1, f1), m1, t1 = peak(lambda: trimesh.proximity.closest_point(mesh, nm))
    (c2, d2, f2), m2, t2 = peak(lambda: closest_surface_points(mesh, nm))
    same = np.isclose(d1, d2, atol=1e-6)
    print(f"right units: trimesh {t1:.2f} s, {m1:.0f} MiB peak; neurograph {t2:.2f} s, {m2:.0f} MiB peak; "
          f"same distance for {same.sum()} of {len(nm)} (max |diff| {np.abs(d1 - d2).max():.3g} nm), "
          f"same face for {(f1 == f2).sum()}")

    for n in (5, 20, 80):
        _, mt, tt = peak(lambda: trimesh.proximity.closest_point(mesh, vox[:n]))
        _, mn, tn = peak(lambda: closest_surface_points(mesh, vox[:n]))
        print(f"wrong units (voxels read as nm), first {n:3d} synapses: trimesh {mt:8.0f} MiB peak, {tt:6.2f} s; "
              f"neurograph {mn:5.0f} MiB peak, {tn:5.2f} s")
    _, mn, tn = peak(lambda: closest_surface_points(mesh, vox))
    print(f"wrong units, all {len(vox)} synapses: neurograph {mn:.0f} MiB peak, {tn:.2f} s "
          "(trimesh grows ~linearly with the synapses: see above)")
    import neurograph as ng
    from neurograph.errors import InputError

    neuron = ng.extract(mesh, voxel_size=1, spines=False)
    t0 = time.perf_counter()
    try:
        # MICrONS voxels read as nm: the unit is given, but wrong
        neuron = ng.map_synapses(neuron, os.path.join(DATA, "864691135510518224_synapses.csv"), voxel_size=1)
    except InputError as exc:
        print(f"map_synapses with voxels read as nm: {type(exc).__name__} after {time.perf_counter() - t0:.2f} s: {exc}")


if __name__ == "__main__":
    sys.exit(main())
