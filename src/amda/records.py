"""Each training method and each attack declared once, as a record: everything else (naming's method and
attack sets, display names, the schema's enums and attack settings, wildcard constraints, rule inputs, the
claims' comparisons and the paper's effects, the training loss, the attack builder) is derived from
`METHODS` and `ATTACKS`. Standard library only, so planning, tables and claims read the records without
importing torch or TextAttack; the loss and the builder are dotted paths, imported where they run."""

from dataclasses import dataclass, field
from importlib import import_module

# The paper's claims in the order claims.csv and the effect rows list them.
CLAIMS = (
    "AMDA beats ADA",
    "AMDA beats its mixup alone",
    "ADA beats base",
    "mixup beats base",
    "one-shot beats iterative",
    "FreeLB++ beats base",
    "AMDA beats FreeLB++",
)
# What a method trains on: clean data; the adversarial set made once on the victim; or attacks of its own
# model between epochs.
TRAINING_DATA = ("clean", "one_shot", "iterative")


@dataclass(frozen=True)
class Comparison:
    """The paper says the method (A) is more robust than `baseline` (B) when `direction` is +1.
    `paper_tables`: the paper's tables whose effect rows (A − B beside the paper's) show it."""

    claim: str
    baseline: str
    direction: int = 1
    paper_tables: tuple = ()


@dataclass(frozen=True)
class Method:
    """A training method. `loss`: "module:Class" of its per-batch loss (`amda.losses`); `mixup`: tmix, smix or
    None; `one_shot`: for an iterative method, the one-shot method whose α and ratio it takes; `adds_to`: for
    an AMDA method, the mixup-only method it adds adversarial data to; `settings`: config sections of its
    own ({section: {key: JSON-schema property with its default}}), added to the schema and copied into the
    method's training spec; `published`: {source: the name that source's published results give this method}
    (`amda.paper`'s other published results, e.g. RMLM)."""

    name: str
    display: str
    data: str
    loss: str = "amda.losses:CrossEntropy"
    mixup: str = None
    one_shot: str = None
    adds_to: str = None
    comparisons: tuple = ()
    settings: dict = field(default_factory=dict)
    published: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Attack:
    """An attack recipe. `builder`: "module:function" (model_wrapper, attack_cfg, resources) -> a TextAttack
    attack before its limits; `resources`: what running it needs besides the model (`nltk`, `embedding`);
    `settings`: JSON-schema properties of `attacks.<name>` beside the limits every attack has; `paper`: the
    paper's attack column its cells are compared with (`amda.paper`), its own name if None."""

    name: str
    display: str
    builder: str
    resources: tuple = ("nltk",)
    settings: dict = field(default_factory=dict)
    paper: str = None

    def needs(self, resource):
        return resource in self.resources

    def defaults(self):
        """{key: default} of the record's settings: what the schema fills in for an absent key."""
        return {key: prop["default"] for key, prop in self.settings.items()}


# FreeLB++'s settings (amda.freelb): defaults from RockyLzy/TextDefender@06a5068 trainer/freelb.py (FreeLB's
# arguments) and trainer/gradient.py (δ's initialisation and update), with K = 10 as RMLM (ACL 2023) ran it on SST-2.
_TEXTDEFENDER = "TextDefender trainer/freelb.py"
FREELB_SETTINGS = {
    "adv_steps": {
        "type": "integer",
        "minimum": 0,
        "maximum": 50,
        "default": 10,
        "description": f"FreeLB++ passes K per batch, each on perturbed embeddings, loss / K; 0: plain fine-tuning "
        f"(K = 10: RMLM, ACL 2023, on SST-2; {_TEXTDEFENDER}:28 has FreeLB's 5)",
    },
    "adv_learning_rate": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.03,
        "description": f"ascent step: δ moves this far in the norm per step, along its normalised gradient "
        f"({_TEXTDEFENDER}:30)",
    },
    "adv_init_mag": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.05,
        "description": f"magnitude of the uniform initial δ (l2: per sentence; linf: per coordinate); 0: δ starts at "
        f"0 ({_TEXTDEFENDER}:32, trainer/gradient.py:59-73)",
    },
    "adv_max_norm": {
        "type": "number",
        "minimum": 0,
        "maximum": 10,
        "default": 0.0,
        "description": f"norm bound ε: δ projected onto the ε-ball after each ascent step; 0: no projection, δ then "
        f"within adv_init_mag + (K - 1) × adv_learning_rate ({_TEXTDEFENDER}:34)",
    },
    "adv_norm_type": {
        "type": "string",
        "enum": ["l2", "linf"],
        "default": "l2",
        "description": f"norm of the bound and of the step normalisation ({_TEXTDEFENDER}:36, "
        f"trainer/gradient.py:76-96)",
    },
}


# Wang et al. (ACL 2023), RMLM, Table 2 (`amda/data/other_published_results.csv`, source `rmlm_2023`): its methods
# `base`, `ada`, `amda`, `freelb_pp`. Its `amda` is AMDA-TMix: RMLM names no mixup variant, and the reference code's
# run scripts train AMDA with TMix only (thunlp/MixADA@8d247f3 run_job.sh:22,71 and run_job2.sh:114,159
# `--mix_type tmix`; run_simMix.py:619-624 gives --mix_type no default), as the paper's headline MixADA is TMix.
RMLM = "rmlm_2023"


def _register(*records):
    return {record.name: record for record in records}


METHODS = _register(
    Method("base", "Base", "clean", published={RMLM: "base"}),
    Method(
        "ada",
        "ADA",
        "one_shot",
        published={RMLM: "ada"},
        comparisons=(
            Comparison("ADA beats base", "base", paper_tables=(2, 3)),
            Comparison("one-shot beats iterative", "ada_iter", paper_tables=(4,)),
        ),
    ),
    Method(
        "tmix",
        "TMix",
        "clean",
        loss="amda.losses:Mixup",
        mixup="tmix",
        comparisons=(Comparison("mixup beats base", "base"),),
    ),
    Method(
        "smix",
        "SMix",
        "clean",
        loss="amda.losses:Mixup",
        mixup="smix",
        comparisons=(Comparison("mixup beats base", "base"),),
    ),
    Method(
        "amda_tmix",
        "AMDA-TMix",
        "one_shot",
        loss="amda.losses:Mixup",
        mixup="tmix",
        adds_to="tmix",
        published={RMLM: "amda"},
        comparisons=(
            Comparison("AMDA beats ADA", "ada", paper_tables=(2, 3)),
            Comparison("AMDA beats its mixup alone", "tmix", paper_tables=(2, 3)),
            Comparison("one-shot beats iterative", "amda_tmix_iter", paper_tables=(4,)),
            Comparison("AMDA beats FreeLB++", "freelb"),
        ),
    ),
    Method(
        "amda_smix",
        "AMDA-SMix",
        "one_shot",
        loss="amda.losses:Mixup",
        mixup="smix",
        adds_to="smix",
        comparisons=(
            Comparison("AMDA beats ADA", "ada", paper_tables=(2, 3)),
            Comparison("AMDA beats its mixup alone", "smix", paper_tables=(2, 3)),
            Comparison("one-shot beats iterative", "amda_smix_iter", paper_tables=(4,)),
            Comparison("AMDA beats FreeLB++", "freelb"),
        ),
    ),
    Method("ada_iter", "ADA (iterative)", "iterative", one_shot="ada"),
    Method(
        "amda_tmix_iter",
        "AMDA-TMix (iterative)",
        "iterative",
        loss="amda.losses:Mixup",
        mixup="tmix",
        one_shot="amda_tmix",
    ),
    Method(
        "amda_smix_iter",
        "AMDA-SMix (iterative)",
        "iterative",
        loss="amda.losses:Mixup",
        mixup="smix",
        one_shot="amda_smix",
    ),
    Method(
        "freelb",
        "FreeLB++",
        "clean",
        loss="amda.freelb:FreeLBLoss",
        comparisons=(Comparison("FreeLB++ beats base", "base"),),
        settings={"freelb": FREELB_SETTINGS},
        published={RMLM: "freelb_pp"},
    ),
)

# The reference PWWS's settings: each way thunlp/MixADA's OpenAttack v1 (@ 8d247f3) differs from TextAttack's
# PWWSRen2019, the reference's behaviour by default, citing its file and line (amda.attack.reference).
PWWS_REF_SETTINGS = {
    "scores": {
        "enum": ["logits", "probabilities"],
        "default": "logits",
        "description": "attackEval.py:347-366: BertClassifier.get_prob returns raw logits, the scores of pwws.py:92 "
        "and :113 (probabilities: a softmax first, as TextAttack)",
    },
    "targeted": {
        "type": "boolean",
        "default": True,
        "description": "attackEval.py:261 target = 1 - label, pwws.py:49-52 a text already predicted as the target "
        "is returned unchanged (false: lower the gold label's score, as TextAttack; needed beyond two labels)",
    },
    "unk_token": {
        "type": "string",
        "minLength": 1,
        "default": "<UNK>",
        "description": "pwws.py:12 and :89: saliency replaces a token by the literal string '<UNK>' "
        "(TextAttack: '[UNK]')",
    },
    "substitutes": {
        "enum": ["openattack_wordnet", "textattack_wordnet"],
        "default": "openattack_wordnet",
        "description": "pwws.py:32 and :102, substitutes/wordnet.py:39-83: WordNet synonyms in the token's Penn part "
        "of speech (textattack_wordnet: TextAttack's WordSwapWordNet, any part of speech)",
    },
    "lowercase": {
        "type": "boolean",
        "default": True,
        "description": "attackEval.py:255: texts are lower-cased before the attack",
    },
    "greedy": {
        "enum": ["reference", "textattack"],
        "default": "reference",
        "description": "pwws.py:64-80: each position's best substitute is picked once on the original text, then "
        "applied in score order without re-scoring until the label flips (textattack: re-score each position on "
        "the current text and keep the swap only if it raises the score)",
    },
    "skip_stopwords": {
        "type": "boolean",
        "default": False,
        "description": "pwws.py:64: every token may be replaced (true: not NLTK's English stopwords, as "
        "TextAttack's recipe)",
    },
    "padding_side": {
        "enum": ["left", "right"],
        "default": "left",
        "description": "attackEval.py:297: load_examples(..., pad_on_left=True) pads every text on the left to the "
        "maximum length (right: this workflow's training-time padding)",
    },
}

# The reference TextFooler's settings: each way thunlp/MixADA's OpenAttack v1 (@ 8d247f3) TextFooler differs from
# TextAttack's TextFoolerJin2019, the reference's behaviour by default, citing its file and line
# (amda.attack.reference_textfooler). "textfooler.py" is OpenAttack/attackers/textfooler.py.
TEXTFOOLER_REF_SETTINGS = {
    "scores": {
        "enum": ["logits", "probabilities"],
        "default": "logits",
        "description": "attackEval.py:347-366: BertClassifier.get_prob returns raw logits, the scores of "
        "textfooler.py:91, :117 and :150 (probabilities: a softmax first, as TextAttack)",
    },
    "targeted": {
        "type": "boolean",
        "default": True,
        "description": "attackEval.py:261 target = 1 - label, textfooler.py:86-98 a text already predicted as the "
        "target is returned unchanged (false: leave the gold label, as TextAttack; needed beyond two labels)",
    },
    "lowercase": {
        "type": "boolean",
        "default": True,
        "description": "attackEval.py:255: texts are lower-cased before the attack",
    },
    "padding_side": {
        "enum": ["left", "right"],
        "default": "left",
        "description": "attackEval.py:297: load_examples(..., pad_on_left=True) pads every text on the left to the "
        "maximum length (right: this workflow's training-time padding)",
    },
    "unk_token": {
        "type": ["string", "null"],
        "minLength": 1,
        "default": "<oov>",
        "description": "textfooler.py:116: a word's importance replaces it by the literal string '<oov>' "
        "(null: delete it, as TextAttack's GreedyWordSwapWIR('delete'))",
    },
    "importance": {
        "enum": ["reference", "goal_score"],
        "default": "reference",
        "description": "textfooler.py:118-127: Jin et al.'s importance on the original's predicted label (its score "
        "drop, plus the new label's gain where the label changes), words scoring at most -1 dropped (:43) "
        "(goal_score: the goal function's score of each leave-one-out text, as TextAttack)",
    },
    "stopwords": {
        "enum": ["reference", "textattack"],
        "default": "reference",
        "description": "textfooler.py:10-39 and :126: 26 skip words, 'film' and 'movie' among them (textattack: "
        "TextFoolerJin2019's 240 stopwords)",
    },
    "max_cos_distance": {
        "type": "number",
        "minimum": 0,
        "maximum": 2,
        "default": 0.7,
        "description": "textfooler.py:45 word_sim_threshold, substitutes/embedbase.py:39-47: neighbours within "
        "this cosine distance (TextAttack: WordEmbeddingDistance(min_cos_sim=0.5), distance 0.5)",
    },
    "synonym_num": {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 50,
        "description": "textfooler.py:47 and :205: at most this many neighbours a word (TextAttack: 50)",
    },
    "skip_nearest": {
        "type": "boolean",
        "default": True,
        "description": "textfooler.py:205 slices [1:] off a neighbour list that substitutes/embedbase.py:44 "
        "already starts after the word itself, so the nearest other word is never offered (false: it is, "
        "as TextAttack)",
    },
    "pos_check": {
        "enum": ["reference", "none"],
        "default": "reference",
        "description": "textfooler.py:174-178, :212-215: a candidate's Penn tag, from its detokenised and "
        "re-tokenised 9-token window (the whole text up to 10 tokens), must equal the word's (the noun/verb clause "
        "never meets a Penn tag); a re-tokenised window too short for the index raises, which "
        "attack_evals/default.py:233-237 counts as a failed attack (none: no check; TextAttack: universal tags, "
        "nouns and verbs interchangeable)",
    },
    "use_threshold": {
        "type": "number",
        "minimum": -1,
        "maximum": 1,
        "default": 0.5,
        "description": "textfooler.py:44 sim_score_threshold on metric/usencoder.py:24-32's cosine similarity "
        "(TextAttack: angular 0.840845057, cosine 0.8776)",
    },
    "use_window": {
        "type": "integer",
        "minimum": 1,
        "maximum": 4096,
        "default": 15,
        "description": "textfooler.py:46 and :153-164: the USE compares windows of this many tokens around the "
        "word, of the current text and the candidate (TextAttack: 15 words)",
    },
    "use_short_texts": {
        "type": "boolean",
        "default": True,
        "description": "textfooler.py:105-107 and :153-164: a text shorter than the window is compared too: whole, "
        "or from token len - window (negative: the last window - len tokens, as Python slices) for a word at most "
        "half a window from its end (false: it passes unscored, TextAttack's skip_text_shorter_than_window)",
    },
    "greedy": {
        "enum": ["reference", "textattack"],
        "default": "reference",
        "description": "textfooler.py:146-195: at each word in importance order, the label-changing candidate "
        "passing USE and POS with the highest USE score wins; else the candidate with the lowest logit of the "
        "original's label is applied, whatever its USE and POS, if that logit plus the first candidate's USE and "
        "POS penalties (its broadcast, :189-192) is below the original text's (textattack: GreedyWordSwapWIR: the "
        "best-scoring candidate passing USE and POS, kept only if it raises the score)",
    },
}

ATTACKS = _register(
    Attack("pwws", "PWWS", "amda.attack.recipes:build_pwws"),
    Attack(
        "pwws_ref",
        "PWWS (reference)",
        "amda.attack.reference:pwws_ref",
        settings=PWWS_REF_SETTINGS,
        paper="pwws",  # the paper's PWWS is the one this attack reproduces
    ),
    Attack(
        "textfooler",
        "TextFooler",
        "amda.attack.recipes:build_textfooler",
        resources=("nltk", "embedding"),
        settings={
            "use_threshold": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 0.840845057,
                "description": "TextFoolerJin2019's angular USE threshold",
            },
            "use_window": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "default": 15,
                "description": "words each side; max_length is at most 4096 tokens",
            },
        },
    ),
    Attack(
        "textfooler_ref",
        "TextFooler (reference)",
        "amda.attack.reference_textfooler:textfooler_ref",
        resources=("nltk", "embedding"),
        settings=TEXTFOOLER_REF_SETTINGS,
        paper="textfooler",  # the paper's TextFooler is the one this attack reproduces
    ),
)


def attack_pairs():
    """(attack, recipe) of each attack that reimplements another record's attack of the paper (its `paper` names
    that record): two implementations of one attack, whose results on the same models results/attack_change.csv
    compares (`amda.attack_change`)."""
    return tuple((name, a.paper) for name, a in ATTACKS.items() if a.paper != name and a.paper in ATTACKS)


def comparisons():
    """(claim, A, B, direction) of every comparison, in CLAIMS order, then the methods' order."""
    found = [(c, name) for name, method in METHODS.items() for c in method.comparisons]
    found.sort(key=lambda item: CLAIMS.index(item[0].claim))
    return tuple((c.claim, a, c.baseline, c.direction) for c, a in found)


def baselines(claim):
    """{A: B} of the comparisons that make `claim` (e.g. each AMDA method and the ADA it must beat)."""
    return {name: c.baseline for name, method in METHODS.items() for c in method.comparisons if c.claim == claim}


def effects(table):
    """(A, B) of the comparisons whose effect A − B the paper's Table `table` shows, in comparisons() order."""
    found = [(c, name) for name, method in METHODS.items() for c in method.comparisons if table in c.paper_tables]
    found.sort(key=lambda item: CLAIMS.index(item[0].claim))
    return tuple((a, c.baseline) for c, a in found)


def published_method(source, name):
    """Our method that `source`'s published results call `name` (`Method.published`), None if none does."""
    return next((key for key, method in METHODS.items() if method.published.get(source) == name), None)


def resolve(dotted):
    """The object a "module:name" path names, imported now (the records themselves import nothing heavy)."""
    module, _, name = dotted.partition(":")
    return getattr(import_module(module), name)
