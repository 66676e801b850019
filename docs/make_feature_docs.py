"""Write docs/features.md: every neuron-level feature of the registry, with units.

Run ``python docs/make_feature_docs.py``; ``tests/test_docs.py`` fails when the file is out of
date with :func:`neurograph.feature_table`.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent / "features.md"

#: a paragraph under a group's heading, for groups whose inputs need saying
GROUP_NOTES = {
    "cortical": "Compartments come from the skeleton's SWC types (2 axon, 3 basal, 4 apical) when the file has "
                "them, as curated reconstructions do, and otherwise from `ng.label_compartments` run on a copy "
                "(geometry, or synapses when mapped). "
                "*height* is measured from the soma centre along the apical axis the neuron gives itself: towards "
                "the cable-weighted centre of the apical dendrite, or, without one, along the dendrites' first "
                "principal axis pointing to the side that holds more axon (more dendrite without an axon); never "
                "the file's axes. *lateral* is the distance from that axis. Axon features are NaN with less than "
                "500 µm of axon (dendrite-only reconstructions keep a stub). Module `neurograph.features.cortical`.",
    "neurites": "The dendrites (basal + apical, `dendrite_arbor_*`) and the axon (`axon_arbor_*`) measured each on "
                "its own, with the compartments of the `cortical` group (SWC types, or `ng.label_compartments` on a "
                "copy): whole-neuron features mix the two, so they change with how much axon was traced, these do "
                "not. The persistence barcode is the topological morphology descriptor of Kanari et al. 2018 (elder "
                "rule; filtration: radial distance from the soma centre, or path length for `pbar_*`). Axon columns "
                "are NaN with less than 500 µm of axon. Module `neurograph.features.neurites`.",
}


def _columns(cols: list[str]) -> str:
    if len(cols) <= 4:
        return ", ".join(f"`{c}`" for c in cols)
    return f"`{cols[0]}`, `{cols[1]}` … `{cols[-1]}` ({len(cols)} columns)"


def render() -> str:
    """The markdown text of docs/features.md, from the feature registry."""
    import neurograph as ng

    table = ng.feature_table().reset_index()
    lines = ["# Neuron-level features (`neurograph.neuron_features`)", "",
             "Generated from the registry by `python docs/make_feature_docs.py`; "
             "`ng.feature_table()` gives the same as a DataFrame (one row per column).",
             "Lengths in µm, widths in nm, areas µm², volumes µm³, angles degrees; empty unit = a count "
             "or a ratio. *needs*: the inputs without which the feature is NaN. *scale-free*: does not "
             "change when the neuron is scaled. The `position` group is opt-in (it depends on the "
             "brain space); every other feature is independent of orientation, handedness and node density. "
             "*form*: the form of the neuron the feature is computed on (`form` in `ng.feature_table()`): "
             "*canonical* = the healed tree with side arms < 10 µm pruned, cable that folds straight back onto itself (a node on a misaligned section) put back on its neurite and the cable resampled every 1 µm, "
             "a tree without a soma rooted at the end of its longest unbranched end stretch "
             "(`ng.canonical`: the same whatever the tracing style's twig density and node spacing), for every "
             "feature of the skeleton's shape; *raw* = the neuron as given, for features of inputs tied to its "
             "nodes (radii, mesh, synapses, spines, compartment labels).", ""]
    for group, rows in table.groupby("group", sort=False):
        lines += [f"## {group} ({len(rows)} columns)", ""]
        if group in GROUP_NOTES:
            lines += [GROUP_NOTES[group], ""]
        lines += ["| feature | columns | unit | needs | scale-free | form | description |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for feature, part in rows.groupby("feature", sort=False):
            first = part.iloc[0]
            desc = str(first["description"]).replace("|", "\\|")
            lines.append(f"| {feature} | {_columns(part['column'].tolist())} | {first['unit']} | "
                         f"{first['requires']} | {'yes' if first['scale_free'] else ''} | {first['form']} | {desc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
