"""Write SWC files."""

from __future__ import annotations

import os

import pandas as pd


def write_swc(table: pd.DataFrame, path: str | os.PathLike, header: str = "") -> None:
    """Write an SWC table (``node_id, type, x, y, z, radius, parent_id``) to ``path``.

    Parameters
    ----------
    table : pandas.DataFrame
        E.g. from :meth:`neurograph.Skeleton.to_swc`; units are whatever the table holds
        (neurograph writes µm by default and says so in the header).
    path : str or PathLike
    header : str
        Comment lines to put first (``#`` is added).
    """
    cols = ["node_id", "type", "x", "y", "z", "radius", "parent_id"]
    with open(path, "w") as fh:
        for line in header.splitlines():
            fh.write(f"# {line}\n")
        fh.write("# " + " ".join(cols) + "\n")
        table[cols].to_csv(fh, sep=" ", header=False, index=False, float_format="%.4f")
