"""``neurograph batch INPUTS... -o OUTDIR``: the command-line face of :func:`extract_all`."""

from __future__ import annotations

import argparse
import os
import sys


class _DeprecatedAlias(argparse.Action):
    """Store like the new flag and say on stderr that the old name is deprecated."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"neurograph: warning: {option_string} is deprecated; use {self.metavar}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _run(args: argparse.Namespace) -> int:
    from ..io.paths import check_output_folder, voxel_arg
    from .runner import extract_all

    check_output_folder(args.output)
    kwargs = {k: getattr(args, k) for k in ("gap", "step", "min_soma_radius") if getattr(args, k) is not None}
    if args.no_spines:
        kwargs["spines"] = False
    if args.split:
        kwargs["split"] = True
    if args.proofread:
        kwargs["proofread"] = True
    summary = extract_all(args.inputs, args.output, workers=args.workers, scheduler=args.scheduler,
                          voxel_size=voxel_arg(args.voxel_size, "--voxel-size"), units=args.units,
                          synapse_voxel_size=voxel_arg(args.synapse_voxel_size, "--synapse-voxel-size"),
                          dataset=args.dataset,
                          extract_kwargs=kwargs, retry_failed=args.retry_failed, time_limit=args.time_limit,
                          memory_limit=args.memory_limit, save_neurons=not args.no_neuron_files,
                          qc=not args.no_qc, progress=not args.quiet, isolate=args.isolate,
                          segment_ids=args.ids, precomputed=args.precomputed,
                          precomputed_mesh=not args.no_precomputed_mesh, precomputed_url=args.precomputed_url)
    if args.quiet:
        print(summary)
    failed = summary.failed + summary.skipped_failed
    if failed:
        print(f"neurograph batch: {failed} neuron(s) failed; why is in the errors table: "
              f"{os.path.join(summary.out_dir, 'errors')}/ (neurograph.batch.read_results(...).errors); "
              "exit status 3", file=sys.stderr)
        return 3
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
                                   "neurograph.batch.read_results(OUTDIR). Exit status: 0 when every "
                                   "neuron is extracted, 3 when some failed (this run or an earlier one, see "
                                   "OUTDIR/errors/), 1 for an error before the run.")
    p.add_argument("inputs", nargs="+", help="folders, globs or files of meshes / SWCs, or manifest CSVs "
                                             "(columns path, id, synapses, synapse_voxel_size, voxel_size, units, label; "
                                             "or source, segment_id), or precomputed layers with --ids")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--voxel-size", nargs="+", type=float, default=None,
                   help="nm per mesh unit: one value or X Y Z, 1 for meshes in nm (required for meshes unless "
                   "--dataset or the manifest gives it: there is no default unit)")
    p.add_argument("--units", default=None, help="units of SWC inputs: nm, um or voxel (with --voxel-size)")
    p.add_argument("--swc-units", dest="units", metavar="--units", action=_DeprecatedAlias,
                   help="deprecated name of --units")
    p.add_argument("--synapse-voxel-size", nargs="+", type=float, default=None,
                   help="nm per synapse coordinate unit of the manifest's synapse tables: 1 (nm), "
                   "4 4 40 (MICrONS voxels), 8 (hemibrain); a manifest column synapse_voxel_size overrides it; "
                   "required with synapse tables unless --dataset gives it")
    from ..datasets import DATASET_HELP

    p.add_argument("--dataset", default=None, help=DATASET_HELP + "; a manifest's 'dataset' column wins per neuron")
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
    p.add_argument("--ids", default=None, help="file of segment ids (one per line) to extract from the "
                   "precomputed layers in INPUTS (precomputed://gs://..., file:///...)")
    p.add_argument("--precomputed", default=None, metavar="LAYER",
                   help="also write skeletons (radius, compartment, branch, spine attributes) and repaired meshes "
                        "into this Neuroglancer precomputed folder, with a neuroglancer_state.json")
    p.add_argument("--no-precomputed-mesh", action="store_true", help="with --precomputed: skeletons only")
    p.add_argument("--precomputed-url", default=None, metavar="URL",
                   help="with --precomputed: the layer's address in the Neuroglancer state, e.g. "
                        "precomputed://http://localhost:9000 where the folder is served (default file://)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; print the summary only")
    p.set_defaults(func=_run)
