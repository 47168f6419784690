# AMDA / MixADA: adversarial and mixup data augmentation for robust fine-tuning.
#
#   snakemake --cores 2 results/table2.csv          # the main job, on config.yaml
#   snakemake --cores 2                              # every table and figure the config lists
#   snakemake --cores 2 results/table2.csv --configfile configs/paper.yaml   # the paper's scale
#
# Stages (one file each under rules/): data -> resources -> train -> attack -> aggregate (-> calibration, when on).


# Snakemake reports a broken or empty config.yaml without naming it: check it first, in one line.
include: "rules/preflight.smk"


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/resources.smk"
include: "rules/train.smk"
include: "rules/attack.smk"
include: "rules/aggregate.smk"
include: "rules/calibration.smk"


rule all:
    default_target: True
    input:
        [
            f"results/{name}.{ext}"
            for name in config["tables"]
            for ext in (("png", "csv") if name.startswith("figure") else ("csv", "md"))
        ],
        "results/paper_comparison.md",
        "results/claims.csv",
        rules.calibration_table.output if CALIBRATED_TABLES else [],
        rules.attack_change.output if CHANGE_PAIRS else [],
