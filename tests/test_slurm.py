"""profiles/slurm against a real one-node SLURM on localhost (tests/slurm_cluster.py).

A workflow is run twice, locally with profiles/default and through SLURM with profiles/slurm (sizes
capped to the test node); every non-local job must have gone through sbatch and completed, GPU rules
must have held the GPU (one at a time: the node has one), CPU rules none, and the outputs must be
the same (byte for byte, or but for recorded durations). Add a WorkflowCase to CASES to run another
workflow or other targets; each case costs a local run plus a SLURM run.
"""

import collections
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import slurm_cluster
from conftest import copy_workflow, job_counts

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "slurm_wf"
# The test node: 2 CPUs (this machine's) and one fake GPU. Profile sizes are capped to fit it.
NODE_CPUS = 2
JOB_MEM_MB = 1000
# The test cluster has no slurmdbd, so `sacct` cannot answer: poll with squeue, and poll often
# (the plugin's default first wait, 40 s, is sized for busy clusters).
TEST_EXECUTOR_ARGS = ("--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2")
RUN_TIMEOUT_S = 900


def empty_workdir(path):
    path.mkdir(parents=True)
    return path


def without_timings(path):
    """A JSON or parquet output with its wall-clock fields (`seconds`, `*_seconds`, ...) left out."""

    def timing(name):
        return "seconds" in name or name.endswith("_per_second")

    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if not timing(key)}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    if path.suffix == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        return frame.drop(columns=[name for name in frame.columns if timing(name)]).to_dict("list")
    if path.suffix == ".json":
        return strip(json.loads(path.read_text()))
    return path.read_bytes()


@dataclass(frozen=True)
class WorkflowCase:
    """A workflow and targets to run locally and through SLURM in fresh working directories."""

    name: str
    snakefile: Path  # absolute, or relative to the working directory
    targets: tuple
    # Makes the working directory under the folder it is given and returns it, e.g. conftest's
    # copy_workflow for the project itself (its rules call workflow_scripts/ relative to it).
    make_workdir: Callable = empty_workdir
    extra_args: tuple = ()
    # Globs (relative to the working directory) of files that must read the same in both runs,
    # read by `read` (bytes by default; see `without_timings` for outputs that record durations).
    compare: tuple = ("results/**/*",)
    read: Callable = Path.read_bytes
    # Rules whose jobs must hold a GPU; every other submitted rule must hold none.
    gpu_rules: tuple = ()
    # Rules run by the submitting snakemake itself (`localrules`), never through sbatch.
    local_rules: tuple = ("all",)
    # Glob of KEY=VALUE files written inside GPU jobs with SLURM_JOB_ID and CUDA_VISIBLE_DEVICES.
    env_logs: str = ""
    # Cap on cpus_per_task and threads in the test's copy of profiles/slurm. With 1, two 1-GPU jobs
    # fit the node's CPUs at once, so only the GPU keeps them apart.
    job_cpus: int = 1
    # Drop the profile's set-threads so every rule runs with its own `threads`, as in the local run:
    # torch results depend on the thread count.
    rule_threads: bool = False


CASES = [
    WorkflowCase(
        name="fixture",
        snakefile=FIXTURE / "Snakefile",
        targets=("all",),
        compare=("results/*",),
        gpu_rules=("train_model",),
        env_logs="logs/train_model_seed*.env",
    ),
    # The project itself on configs/tiny.yaml, up to the victim's PWWS attack (6 jobs, real MiniLM).
    WorkflowCase(
        name="tiny-victim-tae",
        snakefile="Snakefile",
        make_workdir=copy_workflow,
        targets=("results/attacks/sst2/minilm/base/clean/default/seed42/tae-pwws.json",),
        extra_args=("--configfile", "configs/tiny.yaml"),
        compare=("results/data/sst2/*.parquet", "results/attacks/**/tae-pwws.*", "results/models/**/metrics.json"),
        read=without_timings,
        gpu_rules=("train_model", "attack_shard"),
        rule_threads=True,
    ),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running test cluster, installed with apt-get if needed; stopped after the module, even on failure."""
    if os.geteuid() != 0:
        pytest.skip("the test cluster needs root (slurmd launches jobs; apt-get installs SLURM)")
    install_s = slurm_cluster.ensure_installed()
    began = time.monotonic()
    running = slurm_cluster.start(tmp_path_factory.mktemp("slurm"), cpus=NODE_CPUS, gpus=1)
    print(f"\nslurm: apt install {install_s:.1f} s, daemons up {time.monotonic() - began:.1f} s", file=sys.stderr)
    try:
        yield running
    finally:
        running.stop()


def run_snakemake(case, base, profile_args, env, cluster=None):
    """Run the case's workflow in a working directory made under `base`; return (workdir, output).

    Fails the test with snakemake's output, the SLURM job logs and the daemon logs if the run fails.
    """
    workdir = case.make_workdir(base)
    # Shell rules (and the jobs SLURM starts, which inherit this environment) find the venv's python.
    env = dict(env, PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    # Targets first: options such as --configfile take every word after them.
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *case.targets,
        "--snakefile",
        str(case.snakefile),
        *map(str, profile_args),
        *case.extra_args,
    ]
    began = time.monotonic()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    print(f"slurm: {base.name} run of {case.name} took {time.monotonic() - began:.1f} s", file=sys.stderr)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        slurm_logs = "\n".join(
            f"--- {path}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(workdir.glob(".snakemake/slurm_logs/**/*.log"))
        )
        daemons = cluster.log_tails() if cluster else ""
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{output[-6000:]}\n{slurm_logs}\n{daemons}")
    return workdir, output


def rule_of(job):
    """The rule a SLURM job ran: the executor's comment is `rule_<name>[_wildcards_<values>]`."""
    match = re.fullmatch(r"rule_(.+?)(_wildcards_.*)?", job.get("Comment", ""))
    assert match, f"job {job['JobId']} has no rule comment: {job.get('Comment')!r}"
    return match.group(1)


def read_env_log(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def compared_files(workdir, globs, read):
    """Relative path -> `read(path)` of every file the globs match, checksum sidecars apart (they hash the whole file,
    timings included, which `read` leaves out)."""
    return {
        str(path.relative_to(workdir)): read(path)
        for pattern in globs
        for path in workdir.glob(pattern)
        if path.is_file() and path.suffix != ".sha256"
    }


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_slurm_run_matches_local_run(case, cluster, tmp_path):
    local_env = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    local_args = ["--workflow-profile", REPO / "profiles" / "default", "--cores", NODE_CPUS]
    local_dir, local_output = run_snakemake(case, tmp_path / "local", local_args, local_env)
    profile = slurm_cluster.shrink_profile(
        REPO / "profiles" / "slurm",
        tmp_path / "profile",
        cpus_per_task=case.job_cpus,
        mem_mb=JOB_MEM_MB,
        drop_threads=case.rule_threads,
    )
    slurm_dir, _ = run_snakemake(
        case, tmp_path / "slurm", ["--workflow-profile", profile, *TEST_EXECUTOR_ARGS], cluster.env, cluster
    )

    expected = {rule: n for rule, n in job_counts(local_output).items() if rule not in case.local_rules}
    jobs = [job for job in cluster.jobs().values() if job["WorkDir"] == str(slurm_dir)]
    assert collections.Counter(rule_of(job) for job in jobs) == expected
    summary = sorted((job["JobId"], rule_of(job), job["JobState"], job["ExitCode"], job["JOB_GRES"]) for job in jobs)
    assert all(state == "COMPLETED" and code == "0:0" for _, _, state, code, _ in summary), summary
    completed = {record["JobId"]: record["JobState"] for record in cluster.completed_jobs()}
    assert all(completed.get(job["JobId"]) == "COMPLETED" for job in jobs), completed

    gpu_jobs = [job for job in jobs if rule_of(job) in case.gpu_rules]
    assert len(gpu_jobs) == sum(expected.get(rule, 0) for rule in case.gpu_rules) > 0
    assert all(job["JOB_GRES"] == "gpu:1" for job in gpu_jobs), summary
    assert all(job["JOB_GRES"] == "(null)" for job in jobs if job not in gpu_jobs), summary
    spans = sorted((job["StartTime"], job["EndTime"]) for job in gpu_jobs)
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), f"GPU jobs overlap: {spans}"

    if case.env_logs:
        inside = [read_env_log(path) for path in sorted(slurm_dir.glob(case.env_logs))]
        assert {seen["SLURM_JOB_ID"] for seen in inside} == {job["JobId"] for job in gpu_jobs}
        assert all(seen["CUDA_VISIBLE_DEVICES"] == "0" for seen in inside), inside
        outside = [read_env_log(path) for path in sorted(local_dir.glob(case.env_logs))]
        assert len(outside) == len(inside) and all(seen["SLURM_JOB_ID"] == "" for seen in outside), outside

    local_files = compared_files(local_dir, case.compare, case.read)
    slurm_files = compared_files(slurm_dir, case.compare, case.read)
    assert local_files, f"no files match {case.compare}"
    assert sorted(slurm_files) == sorted(local_files)
    assert [name for name in local_files if slurm_files[name] != local_files[name]] == []
