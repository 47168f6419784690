"""Record, then compare, what the dry run of every config would run: each job's rule, shell command and its
non-code inputs (code inputs, `src/amda/...` and `workflow_scripts/...`, are left out: they may change with a
refactor). A refactor that changes no result leaves this identical.

    python bench/compare_dryrun.py record before.json      # on the old commit
    python bench/compare_dryrun.py record after.json       # on the new one
    python bench/compare_dryrun.py compare before.json after.json
"""

import glob
import json
import re
import subprocess
import sys

CONFIGS = [None, *sorted(glob.glob("configs/*.yaml"))]
CODE = re.compile(r"^(src/amda/|workflow_scripts/)")


def dry_run_jobs(configfile):
    """(rule, shell command, non-code inputs) of each job the dry run of `configfile` plans, sorted."""
    cmd = ["snakemake", "-n", "-p", "--cores", "2", *(["--configfile", configfile] if configfile else [])]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stdout + out.stderr).strip().splitlines()[-3:]}
    jobs, job = [], None
    for line in out.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            job = {"rule": line.split()[1].rstrip(":"), "input": [], "shell": ""}
            jobs.append(job)
        elif job is not None and line.startswith("    input: "):
            job["input"] = sorted(p for p in line[len("    input: ") :].split(", ") if not CODE.match(p))
        elif job is not None and line.startswith("Shell command: "):
            job["shell"] = line[len("Shell command: ") :]
    return sorted(jobs, key=lambda j: json.dumps(j, sort_keys=True))


def record(path):
    result = {str(c or "config.yaml"): dry_run_jobs(c) for c in CONFIGS}
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    for name, jobs in result.items():
        print(f"{name}: {len(jobs) if isinstance(jobs, list) else jobs}")


def compare(before_path, after_path):
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    same = True
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b == a:
            print(f"{name}: identical ({len(b) if isinstance(b, list) else b})")
            continue
        same = False
        b_set = {json.dumps(j, sort_keys=True) for j in b} if isinstance(b, list) else {json.dumps(b)}
        a_set = {json.dumps(j, sort_keys=True) for j in a} if isinstance(a, list) else {json.dumps(a)}
        print(f"{name}: DIFFERENT: {len(b_set - a_set)} jobs only before, {len(a_set - b_set)} only after")
        for j in sorted(b_set - a_set)[:3]:
            print(f"  - {j[:400]}")
        for j in sorted(a_set - b_set)[:3]:
            print(f"  + {j[:400]}")
    return 0 if same else 1


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
