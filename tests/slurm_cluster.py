"""A throwaway one-node SLURM on localhost, for testing the workflow's SLURM profile for real.

`start(root)` writes every file the cluster needs under `root` (slurm.conf, gres.conf, cgroup.conf,
state and spool folders, logs, a munge key and socket), starts munged, slurmctld and slurmd in the
foreground as children of this process, and waits until the node is idle. `SlurmCluster.stop()`
cancels what is still queued, waits for the node to drain and ends the three daemons by their pids.
Needs root (slurmd launches jobs); `ensure_installed()` apt-installs Debian's packages if missing.

Why it is built this way:
- No systemd in the container: daemons run with -F/-D and are owned by this process.
- No cgroups: proctrack/linuxproc and task/none, so nothing tries to create cgroups.
- No slurmdbd (it needs MariaDB): AccountingStorageType=accounting_storage/none, so `sacct` cannot
  report jobs; the record of finished jobs is the jobcomp/filetxt file (`completed_jobs()`), and the
  snakemake SLURM executor must poll with `squeue` (MinJobAge keeps finished jobs visible to it).
- A fake GPU: `Gres=gpu:1` backed by a character device made with mknod (a twin of /dev/null), so
  `--gpus=1` requests are scheduled one at a time and jobs see CUDA_VISIBLE_DEVICES, as on a GPU node.
- slurm.conf is not in /etc/slurm: clients reach the cluster through shims in `bin/` (see
  `write_client_shims`), so `env` puts that folder first on PATH.

Run by hand: `python tests/slurm_cluster.py up /tmp/slurm` (Ctrl-C stops it).
"""

import argparse
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel", "sacct")
DEBIAN_PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
# Finished jobs stay in squeue (and scontrol) this long: longer than any test run, and >= 3 x the
# executor plugin's first poll interval, else it polls with sacct, which has no answer here.
MIN_JOB_AGE_S = 3600
# UNIX socket paths are limited to 107 bytes; sockets are created a few levels under the root.
MAX_ROOT_CHARS = 70
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class ClusterError(RuntimeError):
    """The test cluster could not be installed, started or stopped; the message says which part."""


def missing_programs():
    """Daemons and client commands not found on PATH."""
    return [name for name in DAEMONS + CLIENTS + ("munge",) if shutil.which(name) is None]


def ensure_installed():
    """Install Debian's SLURM and munge when a program is missing; return the seconds it took.

    Needs root and apt (CI runs as root on Debian 12 with the package mirror reachable).
    """
    if not missing_programs():
        return 0.0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ClusterError(f"missing {missing_programs()} and cannot apt-get install them (need root and apt)")
    began = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *DEBIAN_PACKAGES],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
    if missing_programs():
        raise ClusterError(f"still missing after apt-get install: {missing_programs()}")
    return time.monotonic() - began


def free_port():
    """A TCP port nothing listens on right now (two clusters on one machine must not collide)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def total_memory_mb():
    """MemTotal from /proc/meminfo in MiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterError("MemTotal not found in /proc/meminfo")


@dataclass
class Layout:
    """Where the cluster's files go under one root folder."""

    root: Path

    @property
    def conf(self):
        return self.root / "etc" / "slurm.conf"

    @property
    def munge_key(self):
        return self.root / "munge" / "munge.key"

    @property
    def munge_socket(self):
        return self.root / "munge" / "munge.socket"

    @property
    def logs(self):
        return self.root / "log"

    @property
    def jobcomp(self):
        return self.logs / "jobcomp.txt"

    def make_dirs(self):
        for sub in ("bin", "etc", "munge", "dev", "log", "state", "spool", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "munge").chmod(0o711)


def slurm_conf(layout, node, cpus, memory_mb, gpus, ports):
    """The slurm.conf text of a one-node cluster whose only partition `debug` is the default."""
    root = layout.root
    return f"""\
ClusterName=amdatest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={layout.munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={layout.logs}/slurmctld.log
SlurmdLogFile={layout.logs}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={layout.jobcomp}
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge={MIN_JOB_AGE_S}
KillWait=5
InactiveLimit=0
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:{gpus} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def write_configs(layout, node, cpus, memory_mb, gpus):
    """Write slurm.conf, gres.conf, cgroup.conf (found beside slurm.conf), the fake GPU and munge key."""
    layout.make_dirs()
    layout.conf.write_text(slurm_conf(layout, node, cpus, memory_mb, gpus, (free_port(), free_port())))
    gres_lines = []
    for index in range(gpus):
        device = layout.root / "dev" / f"fake-gpu{index}"
        # slurmd accepts only character or block devices as GPU files; this one is a twin of /dev/null.
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        gres_lines.append(f"NodeName={node} Name=gpu File={device}\n")
    (layout.conf.parent / "gres.conf").write_text("".join(gres_lines))
    # Nothing is constrained: the container has no writable cgroup hierarchy.
    (layout.conf.parent / "cgroup.conf").write_text("ConstrainCores=no\nConstrainRAMSpace=no\nConstrainDevices=no\n")
    layout.munge_key.write_bytes(os.urandom(1024))
    layout.munge_key.chmod(0o400)
    write_client_shims(layout)


def write_client_shims(layout):
    """Put SLURM client commands pinned to this cluster's slurm.conf in `bin/`.

    On a real cluster slurm.conf sits at the compiled-in /etc/slurm/slurm.conf. Here it lives in the
    temporary folder, and SLURM_CONF alone does not reach every client: the slurm-jobstep executor
    drops all SLURM_* variables but a few before calling `srun` inside the job. With `bin/` first on
    PATH, every client (srun in jobs included) finds this cluster, and nothing is written to /etc.
    """
    for name in CLIENTS:
        shim = layout.root / "bin" / name
        shim.write_text(f'#!/bin/sh\nSLURM_CONF={layout.conf} exec {shutil.which(name)} "$@"\n')
        shim.chmod(0o755)


@dataclass
class SlurmCluster:
    """A running one-node cluster. `env` is what a client (sbatch, snakemake) must run with."""

    layout: Layout
    node: str
    env: dict
    processes: dict = field(default_factory=dict)

    @property
    def conf(self):
        return self.layout.conf

    def client(self, *args, check=True, timeout=30):
        """Run a SLURM client command against this cluster; return its stdout."""
        done = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def node_state(self):
        """The node's state as sinfo prints it (idle, mix, alloc, down*, ...), or '' if unreachable."""
        done = subprocess.run(
            ["sinfo", "-h", "-N", "-n", self.node, "-o", "%T"], env=self.env, capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    def completed_jobs(self):
        """Finished jobs from the jobcomp/filetxt log: one dict of its Key=Value fields per job."""
        if not self.layout.jobcomp.exists():
            return []
        return [
            dict(re.findall(r"(\w+)=(\S*)", line))
            for line in self.layout.jobcomp.read_text().splitlines()
            if line.strip()
        ]

    def jobs(self):
        """Jobs the controller still holds (finished ones for MinJobAge s): JobId -> Key=Value fields.

        Holds what accounting would: JobState, ExitCode, Comment (the snakemake executor writes
        `rule_<name>[_wildcards_<values>]` there), JOB_GRES, StartTime, EndTime, WorkDir.
        """
        out = self.client("scontrol", "show", "job", "--details", "--oneliner")
        records = [dict(re.findall(r"([\w/:]+)=(\S*)", line)) for line in out.splitlines() if "JobId=" in line]
        return {record["JobId"]: record for record in records}

    def log_tails(self, chars=3000):
        """The end of every daemon log, for error messages."""
        parts = []
        for log in sorted(self.layout.logs.glob("*")):
            if log.is_file() and log != self.layout.jobcomp:
                parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def drain(self, timeout):
        """Cancel every job of this cluster and wait until none is pending, running or completing."""
        ctld = self.processes.get("slurmctld")
        if ctld is None or ctld.poll() is not None:
            return
        self.client("scancel", "--full", "--user", "root", check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.client("squeue", "-h", "-t", "PD,R,CG", check=False).strip():
            time.sleep(1)

    def stop(self, drain_timeout=60):
        """Cancel leftover jobs, wait for the node to have none, then end the daemons by pid."""
        if not self.processes:
            return
        try:
            self.drain(drain_timeout)
        except (ClusterError, subprocess.SubprocessError):
            pass  # the daemons are ended below whatever state the jobs are in
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_until(predicate, timeout, what, cluster):
    """Poll `predicate` every 0.5 s; raise ClusterError naming `what` (with the logs) on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise ClusterError(
                    f"{name} exited with {process.returncode} while waiting for {what}\n{cluster.log_tails()}"
                )
        if predicate():
            return
        time.sleep(0.5)
    raise ClusterError(f"timed out after {timeout} s waiting for {what}\n{cluster.log_tails()}")


def terminate_with_parent():
    """In a daemon's process before exec: have the kernel SIGTERM it when its parent dies.

    Covers what `stop()` and atexit cannot: the test process killed by SIGKILL or a CI timeout.
    """
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(cluster, name, command):
    """Start one daemon in the foreground, its output going to log/<name>.out."""
    out = open(cluster.layout.logs / f"{name}.out", "ab")
    try:
        cluster.processes[name] = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=cluster.env,
            preexec_fn=terminate_with_parent,
        )
    finally:
        out.close()


def start(root, cpus=2, gpus=1, memory_mb=None, timeout=60):
    """Bring up munged, slurmctld and slurmd under `root`; return the running SlurmCluster.

    `memory_mb` defaults to the machine's memory less 1 GiB. The daemons are stopped at interpreter
    exit if `stop()` was not called.
    """
    if missing_programs():
        raise ClusterError(f"missing {missing_programs()}: call ensure_installed() first")
    if os.geteuid() != 0:
        raise ClusterError("the test cluster must be started as root (slurmd launches the jobs)")
    layout = Layout(Path(root).resolve())
    if len(str(layout.root)) > MAX_ROOT_CHARS:
        raise ClusterError(
            f"cluster folder {layout.root} is too long for UNIX socket paths "
            f"(munge and slurmd sockets live in it): use one under {MAX_ROOT_CHARS} characters"
        )
    node = socket.gethostname().split(".")[0]
    memory_mb = memory_mb or total_memory_mb() - 1024
    write_configs(layout, node, cpus, memory_mb, gpus)
    env = dict(
        os.environ,
        SLURM_CONF=str(layout.conf),
        PATH=os.pathsep.join([str(layout.root / "bin"), os.environ.get("PATH", "")]),
    )
    cluster = SlurmCluster(layout=layout, node=node, env=env)
    atexit.register(cluster.stop)
    try:
        spawn(
            cluster,
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={layout.munge_socket}",
                f"--key-file={layout.munge_key}",
                f"--log-file={layout.logs}/munged.log",
                f"--pid-file={layout.root}/run/munged.pid",
                f"--seed-file={layout.root}/munge/munged.seed",
            ],
        )
        wait_until(lambda: munge_works(layout.munge_socket), timeout, "munged", cluster)
        spawn(cluster, "slurmctld", ["slurmctld", "-D", "-c", "-f", str(layout.conf)])
        wait_until(lambda: "UP" in cluster.client("scontrol", "ping", check=False), timeout, "slurmctld", cluster)
        spawn(cluster, "slurmd", ["slurmd", "-D", "-f", str(layout.conf), "-N", node])
        wait_until(lambda: cluster.node_state() == "idle", timeout, f"node {node} to be idle", cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def munge_works(socket_path):
    """True once munged answers on its socket."""
    if not socket_path.exists():
        return False
    done = subprocess.run(["munge", "-n", "-S", str(socket_path)], capture_output=True)
    return done.returncode == 0


def shrink_profile(profile_dir, out_dir, cpus_per_task, mem_mb, drop_threads=False):
    """Copy a snakemake profile, capping every cpus_per_task/threads and mem_mb to what a test node has.

    Everything else (executor, gpu, runtime, partition/account) is kept, so the test exercises the
    profile a user runs, sized down to the one-node cluster. `drop_threads` removes set-threads, so
    rules keep their own `threads`. Returns the new profile folder.
    """
    profile = yaml.safe_load((Path(profile_dir) / "config.yaml").read_text())
    caps = {"cpus_per_task": cpus_per_task, "mem_mb": mem_mb}

    def capped(resources):
        return {
            key: min(value, caps[key]) if key in caps and isinstance(value, int) else value
            for key, value in resources.items()
        }

    if isinstance(profile.get("default-resources"), dict):
        profile["default-resources"] = capped(profile["default-resources"])
    profile["set-resources"] = {rule: capped(res) for rule, res in (profile.get("set-resources") or {}).items()}
    threads = {rule: min(n, cpus_per_task) for rule, n in (profile.pop("set-threads", None) or {}).items()}
    if threads and not drop_threads:
        profile["set-threads"] = threads
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return out_dir


def main(argv=None):
    """`up DIR`: start a cluster in DIR, print how to use it, keep it up until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a cluster and hold it until interrupted")
    up.add_argument("dir", type=Path)
    up.add_argument("--cpus", type=int, default=2)
    up.add_argument("--gpus", type=int, default=1)
    args = parser.parse_args(argv)
    install_s = ensure_installed()
    began = time.monotonic()
    cluster = start(args.dir, cpus=args.cpus, gpus=args.gpus)
    print(f"installed in {install_s:.1f} s, started in {time.monotonic() - began:.1f} s")
    print(f"export PATH={cluster.layout.root / 'bin'}:$PATH SLURM_CONF={cluster.conf}")
    print(f"finished jobs are logged to {cluster.layout.jobcomp}; Ctrl-C stops the cluster", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(process.poll() is None for process in cluster.processes.values()):
            time.sleep(1)
        print(f"a daemon exited:\n{cluster.log_tails()}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
