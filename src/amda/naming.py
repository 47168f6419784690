"""Run identity of a trained model and the paths of everything made from it."""

from dataclasses import asdict, dataclass

METHODS = (
    "base",
    "ada",
    "tmix",
    "smix",
    "amda_tmix",
    "amda_smix",
    "ada_iter",
    "amda_tmix_iter",
    "amda_smix_iter",
)
MIXUP_METHODS = {
    "tmix": "tmix",
    "smix": "smix",
    "amda_tmix": "tmix",
    "amda_smix": "smix",
    "amda_tmix_iter": "tmix",
    "amda_smix_iter": "smix",
}
ADV_METHODS = {"ada", "amda_tmix", "amda_smix"}
ITERATIVE_METHODS = {"ada_iter", "amda_tmix_iter", "amda_smix_iter"}
CLEAN = "clean"
DEFAULT_HP = "default"
# Trained without adversarial data, once per dataset and model, and attacked with every attack (the
# paper's Base, TMix and SMix: one clean accuracy under both attack columns).
CLEAN_TRAINED = {"base", "tmix", "smix"}


def train_attack_for(method, attack):
    """The `train_attack` of the model that a table shows for `method` under `attack`."""
    return CLEAN if method in CLEAN_TRAINED else attack


@dataclass(frozen=True)
class RunId:
    """dataset / model / method / train_attack / hp / seed of one fine-tuned model."""

    dataset: str
    model: str
    method: str
    train_attack: str
    hp: str
    seed: int

    @property
    def rel(self):
        return f"{self.dataset}/{self.model}/{self.method}/{self.train_attack}/{self.hp}/seed{self.seed}"

    @property
    def model_dir(self):
        return f"results/models/{self.rel}"

    @property
    def attack_dir(self):
        return f"results/attacks/{self.rel}"

    def tae(self, attack, ext="json"):
        return f"{self.attack_dir}/tae-{attack}.{ext}"

    def sae(self, attack):
        return f"{self.attack_dir}/sae-{attack}.json"

    def as_dict(self):
        return asdict(self)


def victim(dataset, model, victim_seed):
    return RunId(dataset, model, "base", CLEAN, DEFAULT_HP, int(victim_seed))


def parse_hp(hp):
    """`default` -> {}; `ratio-0.25` -> {"ratio": 0.25}; `alpha-2.0` -> {"alpha": 2.0}."""
    if hp == DEFAULT_HP:
        return {}
    key, _, value = hp.partition("-")
    if key not in ("ratio", "alpha") or not value:
        raise ValueError(f"unknown hyper-parameter setting {hp!r}: expected default, ratio-<x> or alpha-<x>")
    return {key: float(value)}


def format_hp(key, value):
    return f"{key}-{float(value):g}"
