"""The sixteen cultural classification datasets of SPEC §4, described once for every stage.

Data facts only: where a file lives, its checksum, its text field and label spelling, and the
answer words of the CultureLLM collection's label vocabulary. Data preparation, the sample writer
and the lm-eval tasks (whose names and prompt wording live in bias_tasks/culture) all read this
table, so a dataset is re-pinned in one place. Everything here is immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from bias_inheritance import vocab

# The CultureLLM collection (Li et al., NeurIPS 2024), pinned so the bytes never change under us.
CULTURELLM_REPO = "Scarelette/CultureLLM"
CULTURELLM_COMMIT = "dcdb64d7289a8ee88c7e718fb5e8641bf97c441e"
CULTURELLM_RAW = f"https://raw.githubusercontent.com/{CULTURELLM_REPO}/{CULTURELLM_COMMIT}/"

# BiasFignews (Duaibes et al., 2024): the Sina team's FIGNEWS 2024 annotations. The main sheet is
# pinned by its git blob id (sha1 of "blob <size>\0" + bytes), the content hash git itself keeps.
FIGNEWS_REPO = "SinaLab/BiasFignews"
FIGNEWS_COMMIT = "bebc8d7a7f92b2ceda8a8a7691473e44fe54d4ff"
FIGNEWS_RAW = f"https://raw.githubusercontent.com/{FIGNEWS_REPO}/{FIGNEWS_COMMIT}/"

TASKTYPES: tuple[str, ...] = ("offensive", "hate", "spam", "vulgar", "bias", "abusive")
RELATIONS: tuple[str, ...] = ("direct", "indirect")
# Table 1 of the paper: bias and abusive-language detection relate to bias directly, the rest indirectly.
TASKTYPE_RELATION: Mapping[str, str] = MappingProxyType(
    {"offensive": "indirect", "hate": "indirect", "spam": "indirect", "vulgar": "indirect",
     "bias": "direct", "abusive": "direct"}
)


@dataclass(frozen=True)
class AnswerScheme:
    """How a binary question is asked and answered: CultureLLM's "just say X, otherwise say Y".

    `words` maps each gold label to the word the prompt asks for; `aliases` adds phrases a model
    may answer with instead (matched as whole words, any case). `negative` is the label a negated
    positive answer ("not offensive") means.
    """

    positive: str
    negative: str
    words: Mapping[str, str]
    aliases: Mapping[str, tuple[str, ...]]

    def phrases(self) -> dict[str, tuple[str, ...]]:
        """Every way of naming each label: the prompt's word first, then the aliases."""
        return {label: (word, *self.aliases[label]) for label, word in self.words.items()}


def _scheme(positive: tuple[str, str, tuple[str, ...]], negative: tuple[str, str, tuple[str, ...]]) -> AnswerScheme:
    (pos_label, pos_word, pos_aliases), (neg_label, neg_word, neg_aliases) = positive, negative
    return AnswerScheme(
        positive=pos_label,
        negative=neg_label,
        words=MappingProxyType({pos_label: pos_word, neg_label: neg_word}),
        aliases=MappingProxyType({pos_label: pos_aliases, neg_label: neg_aliases}),
    )


SCHEMES: Mapping[str, AnswerScheme] = MappingProxyType(
    {
        "offensive": _scheme(("OFF", "OFF", ("offensive",)),
                             ("NOT", "NOT_OFF", ("not offensive", "non offensive", "inoffensive"))),
        "hate": _scheme(("HS", "HS", ("hate speech", "hateful")),
                        ("NOT_HS", "NOT_HS", ("not hate speech", "no hate speech", "not hateful"))),
        "vulgar": _scheme(("V", "Vulgar", ()), ("-", "NOT_Vulgar", ("not vulgar",))),
        "spam": _scheme(("Spam", "Spam", ()), ("Ham", "NOT_Spam", ("not spam", "ham"))),
        "binary": _scheme(("1", "1", ()), ("0", "0", ())),
    }
)


SOURCES = ("culturellm", "fignews")


@dataclass(frozen=True)
class CultureDataset:
    """One test set: where it comes from, how its rows read, and its answer scheme."""

    key: str  # "<tasktype>_<culture code>_<slug>"; the task names add a prefix (bias_tasks/culture/names.py)
    name: str  # the dataset's published name
    culture: str  # one of vocab.CULTURES
    tasktype: str  # one of TASKTYPES
    scheme: str  # key of SCHEMES
    source: str  # "culturellm" or "fignews"
    path: str  # file path inside the source repository
    text_field: str
    paper_rows: int  # test size the paper reports (SPEC §4); the pinned CultureLLM files hold exactly this
    checksum: str  # "sha256:<hex>" or "gitblob:<hex>"

    def __post_init__(self) -> None:
        # A registry typo would silently make a required file optional: fail at import instead.
        if self.source not in SOURCES:
            raise ValueError(f"{self.key}: unknown source {self.source!r} (expected one of {SOURCES})")

    @property
    def relation(self) -> str:
        return TASKTYPE_RELATION[self.tasktype]

    @property
    def code(self) -> str:
        return vocab.CULTURE_CODES[self.culture]

    @property
    def label_set(self) -> tuple[str, str]:
        """Gold labels, positive first, in the source's own spelling."""
        answers = SCHEMES[self.scheme]
        return (answers.positive, answers.negative)

    @property
    def url(self) -> str:
        base = CULTURELLM_RAW if self.source == "culturellm" else FIGNEWS_RAW
        return base + self.path.replace(" ", "%20")


def _ds(key: str, name: str, scheme: str, path: str, text_field: str, paper_rows: int, checksum: str,
        source: str = "culturellm") -> CultureDataset:
    tasktype, code = key.split("_")[:2]
    culture = {c: n for n, c in vocab.CULTURE_CODES.items()}[code]
    return CultureDataset(key, name, culture, tasktype, scheme, source, path, text_field, paper_rows, checksum)


DATASETS: tuple[CultureDataset, ...] = (
    _ds("offensive_ar_mp", "Multi-Platform-Offensive", "offensive",
        "data/Arabic/MP/offens.jsonl", "comment", 1000,
        "sha256:62923db7985f53b91b429222619154410c11eef9a8f62d3ab36bc3b7fbf35301"),
    _ds("offensive_pt_offcombr", "OffComBR", "offensive",
        "data/Portuguese/OffComBR/data.jsonl", "data", 1250,
        "sha256:f3fe71c8a5815bd5aa25b3f298dab48057c89e12d38f368ada1279625ae46bb7"),
    _ds("offensive_es_ami", "AMI (IberEval 2018)", "offensive",
        "data/Spanish/AMI IberEval 2018_offens/data-2.jsonl", "data", 1000,
        "sha256:ef512f1d9eb70d2a2566eb555bc70ccb2b6320193ae5d57e9cb5d6dc8b0e2b6e"),
    _ds("hate_ar_osact4", "OSACT4-Hate", "hate",
        "data/Arabic/OSACT4/dev_data.jsonl", "tweet", 1000,
        "sha256:e73b109dc118f4fe44ed2ce70d24a40289e1c0985c25e309f4ab88ac6cd2e4fb"),
    # HateBR's file in the collection carries its offensive layer (OFF/NOT), so it is asked as such.
    _ds("hate_pt_hatebr", "HateBR", "offensive",
        "data/Portuguese/HateBR/data-2.jsonl", "data", 1000,
        "sha256:8eb4b7dea33d1006ef117aeec2a93ac02746c070248c1b556bb64e142e2c97ea"),
    _ds("hate_es_hateval2019", "HatEval 2019", "hate",
        "data/Spanish/HateEval 2019_HS/data-2.jsonl", "data", 1000,
        "sha256:045f8eb22c7fc6e560fcb4ecf3846d059965b865bd30ba72cea7363e9b4dfdce"),
    _ds("spam_ar_asht", "ASHT", "spam",
        "data/Arabic/SpamDetect/span_detect_2.jsonl", "tweet", 1000,
        "sha256:e3f55d6a8fd722c98fdabdb0e7069e2cc1ca6bd5e7c880c78e0d7019ceeee869"),
    _ds("spam_zh_ccs", "CCS (Chinese Camouflage Spam)", "spam",
        "data/China/Chinese-Camouflage-Spam-dataset/data-2.jsonl", "data", 1000,
        "sha256:c69f0e58d82f3f2ed52e0ffe7c5528abb976ee372045cb6347b34eaf02ec7571"),
    _ds("vulgar_ar_mp", "Multi-Platform-Vulgar", "vulgar",
        "data/Arabic/MP/VulgarSpeech.jsonl", "comment", 675,
        "sha256:0cd7558b51460bc9ec9fd04d76a3d64446b458c94853a1b2d983a4fcc38037f1"),
    _ds("bias_ar_biasfignews", "BiasFignews", "binary",
        "data/Main.xlsx", "Text", 2055,
        "gitblob:538fbf8a66f3b2e5823d1460f9ca08b1d16c3668", source="fignews"),
    _ds("bias_zh_cdialbias", "CDial-Bias", "binary",
        "data/China/CDial-Bias/gender-2.jsonl", "data", 1000,
        "sha256:f14c017317b32cf75b2f207740b0ed16f83f1ca1f7d6a7e37579699554d8edc7"),
    _ds("bias_pt_toldbr_homophobia", "ToLD-Br-Homophobia", "binary",
        "data/Portuguese/ToLD-Br/homophobia.jsonl", "data", 1000,
        "sha256:0ed0511201bdf6216c42ff381cb882d4419d4085d8b9458431235cb184f52291"),
    _ds("bias_pt_toldbr_misogyny", "ToLD-Br-Misogyny", "binary",
        "data/Portuguese/ToLD-Br/misogyny.jsonl", "data", 1000,
        "sha256:ed06c8385cf2d1cb91a7f8d5e9eb0138c013e082e4561ec5835c2079dcf56927"),
    _ds("bias_es_detoxis_improper", "DETOXIS-Improper", "binary",
        "data/Spanish/DETOXIS 2021/improper_language.jsonl", "data", 1000,
        "sha256:8107b184d2355cdf6be8ba7c1467516530e5a74bb01bddaa73b979bdac1963a3"),
    _ds("abusive_pt_toldbr_insult", "ToLD-Br-Insult", "binary",
        "data/Portuguese/ToLD-Br/insult.jsonl", "data", 1000,
        "sha256:6a2e1a061a2a1285847c9612d547980dadd57cb70fbfe54d9068cb2f388358b3"),
    _ds("abusive_es_detoxis_insult", "DETOXIS-Insult", "binary",
        "data/Spanish/DETOXIS 2021/insult.jsonl", "data", 1000,
        "sha256:140244cf1cd5b9914e680fda4bd40134ea4fa952c5eb849c9c0cf80242e46402"),
)

BY_KEY: Mapping[str, CultureDataset] = MappingProxyType({d.key: d for d in DATASETS})

# Where `--from-dir` looks for the BiasFignews sheet: beside the CultureLLM layout, under Arabic.
FIGNEWS_LOCAL_PATH = "data/Arabic/BiasFignews/Main.xlsx"


def get_dataset(key: str) -> CultureDataset:
    """The dataset of a task key ("offensive_ar_mp"), or a UserError listing the known keys."""
    from bias_inheritance.errors import UserError

    if key not in BY_KEY:
        raise UserError(f"Unknown culture dataset {key!r}.", f"use one of: {', '.join(BY_KEY)}.")
    return BY_KEY[key]

