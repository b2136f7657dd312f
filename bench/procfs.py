"""What Linux says about a process: its peak memory. Imported by the raw baselines too, so stdlib only."""

from __future__ import annotations

import os


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a live process (default: this one), in MB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (bigger) parent that forked us.
    """
    with open(f"/proc/{os.getpid() if pid is None else pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
