"""The step contract on a synthetic spiny fragment, on this tree or an older checkout.

Runs :func:`neurograph.contract.check_steps` (every ordering of every subset of spines /
synapses / compartments, then heal and proofread where they exist, save -> load at every state)
and a direct probe of whether each step changes its input, and prints the broken invariants
by kind. On an older checkout the steps are called the old way (methods, in place) on a copy,
so that ``check_steps`` sees one state per step; run it there with this tree's
``neurograph/checks.py``, ``contract.py``, ``codes.py`` and ``graph/branch_table.py`` copied in::

    python benchmarks/contracts.py                        # this tree
    PYTHONPATH=/tmp/old45 python benchmarks/contracts.py  # 45e1e0c with the checker dropped in

Output: ``benchmarks/results/contracts.txt`` (the three runs, pasted).
"""

from __future__ import annotations

import collections
import copy
import time
import warnings

import neurograph as ng
from neurograph import synthetic
from neurograph.contract import ANNOTATIONS, check_steps, fingerprint

NEW = hasattr(ng, "map_synapses")


def steps(synapses) -> dict:
    """name -> step(neuron) -> Neuron, with the API of the tree being run."""
    if NEW:
        out = {"spines": ng.detect_spines, "synapses": lambda n: ng.map_synapses(n, synapses),
               "compartments": ng.label_compartments}
    else:
        def old(call):
            def step(n):
                m = copy.deepcopy(n)
                call(m)
                return m
            return step
        out = {"spines": old(ng.detect_spines), "synapses": old(lambda n: n.map_synapses(synapses)),
               "compartments": old(ng.label_compartments)}
    if hasattr(ng, "heal"):
        out["heal"] = lambda n: ng.heal(n, max_gap_um=10)
    if hasattr(ng, "proofread"):
        out["proofread"] = lambda n: ng.proofread(n)[0]
    return out


def changes_input(step_call, neuron) -> bool:
    """Whether calling the step the documented way changes the neuron passed in."""
    before = fingerprint(neuron)
    step_call(neuron)
    return fingerprint(neuron) != before


def main() -> None:
    t0 = time.perf_counter()
    cell = synthetic.make_neuron(0, "fragment", 0.5)  # spines per µm (positional: old and new trees)
    syn = synthetic.sample_synapses(cell, seed=0)[["x", "y", "z", "direction"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bare = ng.extract(cell.mesh, voxel_size=1, name="contract", spines=False)
        print(f"neurograph from {ng.__file__}; API: {'steps return new neurons' if NEW else 'steps change their input'}")
        direct = {"spines": ng.detect_spines, "compartments": ng.label_compartments,
                  "synapses": (lambda n: ng.map_synapses(n, syn)) if NEW else (lambda n: n.map_synapses(syn))}
        for name, call in direct.items():
            print(f"  {name}: changes its input: {changes_input(call, copy.deepcopy(bare))}")
        todo = steps(syn)
        after = tuple(k for k in ("heal", "proofread") if k in todo)
        problems, n = check_steps(bare, todo, ANNOTATIONS, after=after)
    kinds = collections.Counter(p.split(": ")[1] for p in problems)
    print(f"{n} states, {len(problems)} broken invariants; by kind: {dict(sorted(kinds.items()))}")
    issue = [p for p in problems if p.startswith("synapses -> compartments -> spines: ")]
    print("the issue's case (synapses -> compartments -> spines):", "ok" if not issue else "")
    for p in issue:
        print("   ", p)
    for p in problems[:12]:
        print("  e.g.", p)
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
