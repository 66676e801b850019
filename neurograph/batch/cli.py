"""``neurograph batch INPUTS... -o OUTDIR``: the command-line face of :func:`extract_all`."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from .runner import extract_all

    kwargs = {k: getattr(args, k) for k in ("gap", "step", "min_soma_radius") if getattr(args, k) is not None}
    if args.no_spines:
        kwargs["spines"] = False
    if args.split:
        kwargs["split"] = True
    if args.proofread:
        kwargs["proofread"] = True
    summary = extract_all(args.inputs, args.output, workers=args.workers, scheduler=args.scheduler,
                          voxel_size=args.voxel_size, swc_units=args.swc_units,
                          extract_kwargs=kwargs, retry_failed=args.retry_failed, time_limit=args.time_limit,
                          memory_limit=args.memory_limit, save_neurons=not args.no_neuron_files,
                          qc=not args.no_qc, progress=not args.quiet, isolate=args.isolate)
    if args.quiet:
        print(summary)
    return 0


def add_batch_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand to the ``neurograph`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        Subparsers of the ``neurograph`` parser (``parser.add_subparsers()``); the new
        subparser runs :func:`neurograph.batch.extract_all` via ``args.func(args)``.
    """
    p = sub.add_parser("batch", help="extract many neurons in parallel into a Parquet dataset (resumable)",
                       description="Extract every neuron of INPUTS into OUTDIR: Parquet tables neurons/, "
                                   "branches/, spines/, synapses/, errors/, saved neurons, done markers. "
                                   "Re-running the same command resumes; read with "
                                   "neurograph.batch.read_results(OUTDIR).")
    p.add_argument("inputs", nargs="+", help="folders, globs or files of meshes / SWCs, or manifest CSVs "
                                             "(columns path, id, synapses, voxel_size, units, label)")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--voxel-size", nargs="+", type=float, default=None,
                   help="nm per mesh unit: one value or X Y Z (default 1 = meshes in nm)")
    p.add_argument("--swc-units", default=None, help="units of SWC inputs: nm, um or voxel")
    p.add_argument("--retry-failed", action="store_true", help="re-run the neurons that failed before")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per neuron")
    p.add_argument("--memory-limit", default=None, help="address space per worker, e.g. 8G")
    p.add_argument("--gap", type=float, default=None, help="largest gap in nm joined by repair")
    p.add_argument("--step", type=float, default=None, help="skeleton wavefront step in nm")
    p.add_argument("--min-soma-radius", type=float, default=None, help="smallest soma radius in nm")
    p.add_argument("--no-neuron-files", action="store_true", help="do not write the saved neurons")
    p.add_argument("--no-qc", action="store_true", help="do not write the per-neuron QC pictures (qc/<id>.png)")
    p.add_argument("--no-spines", action="store_true",
                   help="skip spine detection: for neurons without dendritic spines (insects), whose short "
                   "twigs would otherwise be taken for spines and folded out of the skeleton")
    p.add_argument("--split", action="store_true",
                   help="one neuron per soma (ids <segment>_<soma>; neurons rows carry soma and cut_reasons)")
    p.add_argument("--proofread", action="store_true",
                   help="remove merge errors with the default proofreading rules (cuts listed in cut_reasons)")
    p.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=None,
                   help="Dask only: one subprocess per neuron (limits enforced, ~2 s start-up each); "
                        "default: only with --time-limit or --memory-limit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; print the summary only")
    p.set_defaults(func=_run)
