"""Where the machine's CPU time went during a load run, read from /proc (Linux only).

A `Snapshot` holds the CPU seconds (user + system) used so far by the gunicorn started for
the run (its master and workers: the process group it was started in), by every process
named `postgres` (the backends serving it and PostgreSQL's background processes), by this
process's finished children (wrk, once it has exited) and by the whole machine (busy time
from /proc/stat, all CPUs). The difference of two snapshots, divided by the requests
answered in between, tells how much CPU one request costs in each part.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    server: float
    postgres: float
    children: float
    busy: float
    cpus: int

    def __sub__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            self.server - other.server,
            self.postgres - other.postgres,
            self.children - other.children,
            self.busy - other.busy,
            self.cpus,
        )


def _process_times(server_group: int) -> tuple[float, float]:
    server = postgres = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
        if int(fields[2]) == server_group:
            server += seconds
        elif name == "postgres":
            postgres += seconds
    return server, postgres


def _machine_busy() -> float:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


def snapshot(server_group: int) -> Snapshot:
    server, postgres = _process_times(server_group)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Snapshot(
        server=server,
        postgres=postgres,
        children=children.ru_utime + children.ru_stime,
        busy=_machine_busy(),
        cpus=os.cpu_count() or 1,
    )
