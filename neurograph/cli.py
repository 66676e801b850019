"""Command line: ``neurograph extract MESH -o OUTDIR``."""

from __future__ import annotations

import argparse
import os
import sys
import time

from .datasets import DATASET_HELP
from .errors import NeurographError
from .io.paths import check_output_folder, voxel_arg


def _extract(args: argparse.Namespace) -> int:
    from .pipeline import extract

    if args.example:
        import skeletor

        source, voxel = skeletor.example_mesh(), 8.0  # hemibrain neuron in 8 nm voxels
        name = "skeletor_example_722817260"
        args.dataset = args.dataset or "hemibrain"  # a fly neuron: no dendritic spines
    elif args.mesh:
        source, voxel, name = args.mesh, args.voxel_size, None
    else:
        print("error: give a MESH or --example", file=sys.stderr)
        return 2
    voxel = voxel_arg(voxel, "--voxel-size") if isinstance(voxel, list) else voxel
    syn_voxel = voxel_arg(args.synapse_voxel_size, "--synapse-voxel-size")
    check_output_folder(args.output)
    os.makedirs(args.output, exist_ok=True)
    t0 = time.perf_counter()
    neuron = extract(source, voxel_size=voxel, name=name, gap=args.gap, step=args.step, dataset=args.dataset,
                     progress=lambda stage, s: print(f"[{stage:>11}] {s:6.2f} s", flush=True),
                     synapses=args.synapses, synapse_voxel_size=syn_voxel,
                     compartments=({"pia": args.pia} if args.pia else True) if args.compartments or args.pia
                     else None, spines=False if args.no_spines else None, split=args.split, proofread=args.proofread)
    for one in neuron if isinstance(neuron, list) else [neuron]:
        _write(one, args.output, t0)
    return 0


def _write(neuron, output: str, t0: float) -> None:
    """Write one neuron's tables, SWC, saved neuron and pictures into ``output``."""
    from .features.perisomatic import soma_features
    from .features.summary import neuron_summary
    from .io import write_swc

    stem = os.path.join(output, neuron.name)
    neuron.branches.to_csv(f"{stem}_branches.csv")
    neuron_summary(neuron).to_csv(f"{stem}_summary.csv")
    if neuron.somas:
        soma_features(neuron).to_csv(f"{stem}_somata.csv")
    if neuron.synapses is not None:
        neuron.synapses.to_csv(f"{stem}_synapses.csv")
        rep = neuron.synapse_report
        print(f"  synapses: {rep['n_mapped']} of {rep['n_synapses']} mapped, {rep['n_unmapped']} farther than "
              f"{rep['tolerance_nm']:g} nm from the mesh (kept, mapped=False)")
    if neuron.cuts is not None:
        neuron.cuts.to_csv(f"{stem}_cuts.csv", index=False)
        print(f"  {len(neuron.cuts)} merge cuts/flags: " + "; ".join(
            f"{r} x{n}" for r, n in neuron.cuts["reason"].value_counts().items()))
    write_swc(neuron.skeleton.to_swc("um"), f"{stem}.swc", header=f"{neuron.name} by neurograph, units: µm")
    neuron.save(f"{stem}.neuron.zip")
    import matplotlib

    matplotlib.use("Agg")
    from .plot import plot_neuron, qc_figure

    fig = plot_neuron(neuron)
    fig.savefig(f"{stem}.png", dpi=120, bbox_inches="tight")
    qc_figure(neuron, f"{stem}_qc.png")
    summary = neuron_summary(neuron).iloc[0]
    print(f"{neuron!r}\n  total length {summary.total_length:.1f} µm, {summary.n_limbs:.0f} limbs, "
          f"{summary.n_branches:.0f} branches, soma radius {summary.soma_radius:.2f} µm")
    print(f"wrote {stem}_branches.csv, _summary.csv, .swc, .neuron.zip, .png, _qc.png in {time.perf_counter() - t0:.1f} s")


def build_parser() -> argparse.ArgumentParser:
    """The ``neurograph`` command line parser.

    Subcommands: ``extract`` (mesh -> branch tables, SWC, saved neuron, PNGs), the ``batch``
    commands and ``features``, ``train``, ``predict``. Lengths given on the command line
    (``--gap``, ``--step``) are in nm; ``--voxel-size`` is nm per mesh unit.

    Returns
    -------
    argparse.ArgumentParser
        Parser whose parsed arguments carry the subcommand handler as ``func``.
    """
    from .version import __version__

    parser = argparse.ArgumentParser(prog="neurograph", description=__doc__)
    parser.add_argument("--version", action="version", version=f"neurograph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="mesh -> branch tables, SWC, saved neuron and a PNG")
    ex.add_argument("mesh", nargs="?", help=".ply/.obj/.off/.stl mesh")
    ex.add_argument("-o", "--output", required=True, help="output folder")
    ex.add_argument("--voxel-size", nargs="+", type=float, default=None,
                    help="nm per mesh unit: one value or X Y Z, 1 for a mesh in nm (required unless --dataset "
                    "gives it: there is no default unit)")
    ex.add_argument("--dataset", default=None, help=DATASET_HELP)
    ex.add_argument("--example", action="store_true",
                    help="use skeletor's example hemibrain mesh (a fly neuron: implies --no-spines)")
    ex.add_argument("--no-spines", action="store_true",
                    help="skip spine detection: for neurons without dendritic spines (insects), whose short "
                    "twigs would otherwise be taken for spines and folded out of the skeleton")
    ex.add_argument("--gap", type=float, default=2000.0, help="largest gap in nm joined by repair")
    ex.add_argument("--step", type=float, default=300.0, help="skeleton wavefront step in nm")
    ex.add_argument("--synapses", help="synapse table (CSV/Parquet; pre/post and x/y/z columns): mapped onto "
                    "the neuron and used for axon/dendrite labels; writes <name>_synapses.csv")
    ex.add_argument("--synapse-voxel-size", nargs="+", type=float, default=None,
                    help="nm per synapse coordinate unit: 1 (nm), 4 4 40 (MICrONS voxels), 8 (hemibrain); "
                    "required with --synapses unless --dataset gives it")
    ex.add_argument("--compartments", action="store_true",
                    help="label axon/dendrite/soma without synapses too (always done with --synapses)")
    ex.add_argument("--pia", nargs=3, type=float, metavar=("X", "Y", "Z"),
                    help="direction towards the pia in mesh coordinates (0 -1 0 for MICrONS): the apical "
                    "dendrite must reach towards it")
    ex.add_argument("--split", action="store_true",
                    help="one neuron per soma: a merge of several cells is cut apart (files <name>_<soma>_*, "
                    "cuts with reasons in <name>_<soma>_cuts.csv)")
    ex.add_argument("--proofread", action="store_true",
                    help="remove merge errors (crossing neurites, thin axons glued on, ...) with the default "
                    "rules; removed and flagged pieces go to <name>_cuts.csv")
    ex.set_defaults(func=_extract)
    from .batch.cli import add_batch_parser

    add_batch_parser(sub)
    from .classify_cli import add_classify_parsers  # features / train / predict

    add_classify_parsers(sub)
    for name, command in sub.choices.items():
        if name != "batch":  # batch limits each worker (its own --memory-limit)
            command.add_argument("--memory-limit", default="auto", dest="process_memory_limit",
                                 help="address space this command may use, e.g. 8G; a larger allocation fails "
                                 "with a clear error instead of swapping or waking the out-of-memory killer "
                                 "(default auto: the machine's physical memory; none: no limit)")
    return parser


def _limit_memory(value: str | None) -> tuple | None:
    """Cap this process's address space (``RLIMIT_AS``); returns the limits to restore."""
    if value is None or str(value).strip().lower() in ("none", "off", "0"):
        return None
    if str(value).strip().lower() == "auto":
        try:
            limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # pragma: no cover
            return None
    else:
        from .batch.runner import parse_memory

        limit = parse_memory(value)
    from .batch.limits import limit_address_space

    return limit_address_space(limit, keep_tighter=True)  # a tighter limit set by the caller wins


def main(argv: list[str] | None = None) -> int:
    """Run the ``neurograph`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: the subcommand's (0 on success, 2 for a missing mesh in ``extract`` and
        for usage errors, 3 when ``batch`` or ``features`` finished but some neurons failed), or 1 when it
        raised a :class:`~neurograph.errors.NeurographError`, ran out of memory or met a file
        system error (printed to stderr), 130 when interrupted (Ctrl-C).

    Warnings are left to the caller; the console script prints them one line each
    (:func:`neurograph.terminal.terminal_warnings`).
    """
    args = build_parser().parse_args(argv)
    restore = None
    try:
        restore = _limit_memory(getattr(args, "process_memory_limit", None))
        return args.func(args)
    except NeurographError as exc:
        print(f"neurograph: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"neurograph: error: ran out of memory (limit: --memory-limit "
              f"{getattr(args, 'process_memory_limit', None) or 'none'}); the input is too large for this machine "
              "or in the wrong units (check --voxel-size / --units)", file=sys.stderr)
        return 1
    except OSError as exc:  # disk full, permissions, a file vanishing: not a neurograph bug
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"neurograph: error: {exc.strerror or exc}{where}; check the paths and the free disk space",
              file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemError) as exc:
        # Ctrl-C; inside a Numba kernel it surfaces as a SystemError whose context is the interrupt
        if isinstance(exc, SystemError) and not isinstance(exc.__context__, KeyboardInterrupt):
            raise
        again = "; run the same command again to resume" if getattr(args, "command", None) == "batch" else ""
        print(f"neurograph: interrupted{again}", file=sys.stderr)
        return 130
    finally:
        if restore is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, restore)


def run() -> None:
    """The ``neurograph`` console script: :func:`main`, with warnings one line each
    (:mod:`neurograph.terminal`) and the quicker interpreter exit (:mod:`neurograph.quick_exit`;
    this process holds no user objects to finalize)."""
    from .quick_exit import install
    from .terminal import terminal_warnings

    install()
    with terminal_warnings():
        code = main()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
