"""Address-space cap of the current process (``RLIMIT_AS``), for the batch workers and the CLI."""

from __future__ import annotations


def limit_address_space(limit: int | None, keep_tighter: bool = False) -> tuple[int, int] | None:
    """Cap this process's address space at ``limit`` bytes (never above the hard limit).

    A larger allocation then fails with ``MemoryError`` instead of swapping or waking the
    out-of-memory killer.

    Parameters
    ----------
    limit : int or None
        Bytes; None or 0: no cap (nothing is changed).
    keep_tighter : bool, default False
        Leave a soft limit already at or below ``limit`` as it is (the command line: a limit
        the caller set wins); False sets ``limit`` (a batch worker's own cap).

    Returns
    -------
    (soft, hard) tuple of int or None
        The limits before, to restore with ``resource.setrlimit(resource.RLIMIT_AS, ...)``;
        None when nothing was changed (or on a platform without ``resource``).
    """
    if not limit:
        return None
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    old = resource.getrlimit(resource.RLIMIT_AS)
    soft = int(limit) if old[1] == resource.RLIM_INFINITY else min(int(limit), old[1])
    if keep_tighter and old[0] != resource.RLIM_INFINITY and old[0] <= soft:
        return None
    resource.setrlimit(resource.RLIMIT_AS, (soft, old[1]))
    return old
