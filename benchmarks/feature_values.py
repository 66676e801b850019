"""Every feature-vector and summary value of a few fixed neurons, one line per neuron and column.

Run on two checkouts and ``diff`` the outputs to show that a refactor leaves the numbers as they
were (``benchmarks/results/contract_before_after.txt``)::

    PYTHONPATH=/path/to/a python benchmarks/feature_values.py > a.txt
    PYTHONPATH=/path/to/b python benchmarks/feature_values.py > b.txt
    diff a.txt b.txt

Neurons: synthetic pyramidal, fragment and multipolar meshes (nm, spines off) and two hemibrain
DA1 skeletons of navis (8 nm voxels); features in both forms (``canonical`` and ``raw``).
Values are printed with 12 significant digits.
"""

from __future__ import annotations

import os
import warnings

import neurograph as ng
from neurograph.features.vector import feature_row


def neurons() -> list:
    import navis

    out = [ng.extract(ng.synthetic.make_neuron(seed, shape).mesh, voxel_size=1, spines=False, name=f"{shape}_{seed}")
           for seed, shape in ((0, "pyramidal"), (1, "fragment"), (2, "multipolar"))]
    folder = os.path.join(os.path.dirname(navis.__file__), "data", "swc")
    for name in sorted(os.listdir(folder))[:2]:
        out.append(ng.load_swc(os.path.join(folder, name), units="voxel", voxel_size=8))
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    for neuron in neurons():
        for form in ("canonical", "raw"):
            for column, value in feature_row(neuron, form=form).items():
                print(f"{neuron.name} feature[{form}] {column} {value:.12g}")
        for column, value in ng.neuron_summary(neuron).iloc[0].items():
            print(f"{neuron.name} summary {column} {value:.12g}" if isinstance(value, float)
                  else f"{neuron.name} summary {column} {value}")


if __name__ == "__main__":
    main()
