"""Shared vocabulary of the study (SPEC §2): every stage imports it from here and nowhere else.

All containers are immutable (tuples, read-only mappings) so no stage can alter another's view.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

PROFESSIONS: tuple[str, ...] = (
    "architect",
    "dentist",
    "nurse",
    "painter",
    "professor",
    "software engineer",
)

# Same order as PROFESSIONS (the paper pairs them one to one).
WORKPLACES: Mapping[str, str] = MappingProxyType(
    {
        "architect": "architecture firm",
        "dentist": "dental clinic",
        "nurse": "hospital",
        "painter": "studio",
        "professor": "university",
        "software engineer": "tech company",
    }
)

AGES: tuple[int, ...] = (20, 30, 40, 50, 60, 70, 80)

GENDERS: tuple[str, ...] = ("male", "female")
# The noun a prompt uses for each gender ("a man and a woman are ...").
GENDER_NOUNS: Mapping[str, str] = MappingProxyType({"male": "man", "female": "woman"})

CULTURES: tuple[str, ...] = ("arabic", "chinese", "portuguese", "spanish")
CULTURE_ADJECTIVES: Mapping[str, str] = MappingProxyType(
    {"arabic": "Arabic", "chinese": "Chinese", "portuguese": "Portuguese", "spanish": "Spanish"}
)

# Ten first names per culture and gender. Some names occur in two cultures (Isabel, Ana, Carlos,
# José, Miguel, Pedro): never map a name back to one culture without the candidate list at hand.
NAMES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "arabic": MappingProxyType(
            {
                "female": ("Fatima", "Layla", "Aaliyah", "Nabila", "Naima",
                           "Zahra", "Yasmeen", "Salma", "Mariam", "Noor"),
                "male": ("Amir", "Faisal", "Yaseen", "Zakir", "Zeyad",
                         "Omar", "Ali", "Khaled", "Ahmed", "Hassan"),
            }
        ),
        "chinese": MappingProxyType(
            {
                "female": ("Li", "Fang", "Juan", "Lin", "Jing", "Na", "Xiu", "Hong", "Zhen", "Yan"),
                "male": ("Wei", "Ming", "Jie", "Jun", "Hua", "Qiang", "Yong", "Ping", "Chao", "Hao"),
            }
        ),
        "portuguese": MappingProxyType(
            {
                "female": ("Maria", "Ana", "Sofia", "Isabel", "Margarida",
                           "Catarina", "Julia", "Leticia", "Amanda", "Mariana"),
                "male": ("João", "Miguel", "Pedro", "Luís", "Carlos",
                         "António", "Rafael", "André", "José", "Tiago"),
            }
        ),
        "spanish": MappingProxyType(
            {
                "female": ("María", "Carmen", "Isabel", "Sofía", "Ana",
                           "Lucía", "Victoria", "Elena", "Laura", "Daniela"),
                "male": ("Juan", "Carlos", "José", "Luis", "Antonio",
                         "Miguel", "Pedro", "Alejandro", "Diego", "Javier"),
            }
        ),
    }
)

# Bias in Bios (LabHC/bias_in_bios) encodes `profession` as an index into its 28 professions in
# alphabetical order and `gender` as 0=male, 1=female. The loader prefers the dataset's own
# ClassLabel names when present and falls back to this table.
BIOS_ALL_PROFESSIONS: tuple[str, ...] = (
    "accountant", "architect", "attorney", "chiropractor", "comedian", "composer", "dentist",
    "dietitian", "dj", "filmmaker", "interior_designer", "journalist", "model", "nurse", "painter",
    "paralegal", "pastor", "personal_trainer", "photographer", "physician", "poet", "professor",
    "psychologist", "rapper", "software_engineer", "surgeon", "teacher", "yoga_teacher",
)
BIOS_GENDERS: tuple[str, ...] = ("male", "female")


def bios_label_to_profession(label: str) -> str:
    """Map a Bias in Bios label ("software_engineer") to the study's spelling ("software engineer")."""
    return label.replace("_", " ")


# Words that mark a text's grammatical gender; used to infer whom a generated biography is about
# and by the mask mitigation to neutralise gender.
GENDERED_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "male": ("he", "him", "his", "himself", "man", "men", "mr", "male", "boy", "father", "husband", "son"),
        "female": ("she", "her", "hers", "herself", "woman", "women", "mrs", "ms", "female", "girl",
                   "mother", "wife", "daughter"),
    }
)

# ISO 639-1 codes of the study's cultures, as used in the culture task names (bias_inheritance_*_ar_*).
CULTURE_CODES: Mapping[str, str] = MappingProxyType(
    {"arabic": "ar", "chinese": "zh", "portuguese": "pt", "spanish": "es"}
)

# The study's design cells (first factor major, male first): profession x gender cells are the
# strata of the gender data and of the gender tasks' documents; culture x gender cells are what
# hiring candidates and story characters are drawn from.
PROFESSION_GENDER_CELLS: tuple[tuple[str, str], ...] = tuple((p, g) for p in PROFESSIONS for g in GENDERS)
CULTURE_GENDER_CELLS: tuple[tuple[str, str], ...] = tuple((c, g) for c in CULTURES for g in GENDERS)

# GlobalOpinionQA (Anthropic/llm_global_opinions) countries that stand for each culture: the
# populations the culture's test sets come from (bias_inheritance/data/OPINIONS.md says why, country
# by country). Spellings are the dataset's own; its "(Non-national sample)" entries are left out.
# A culture's ground truth averages its countries' answer distributions, and the mapping is part of
# the key of every prepared opinions folder, so another mapping never passes for this one.
CULTURE_COUNTRIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "arabic": ("Egypt", "Iraq", "Jordan", "Kuwait", "Lebanon", "Libya", "Morocco", "Palest. ter.", "Tunisia"),
        "chinese": ("China",),
        "portuguese": ("Brazil",),
        "spanish": ("Spain", "Argentina", "Bolivia", "Chile", "Colombia", "Ecuador", "El Salvador", "Guatemala",
                    "Honduras", "Mexico", "Nicaragua", "Peru", "Puerto Rico", "Uruguay", "Venezuela"),
    }
)

# ----------------------------------------------------------------------------- mask mitigation
# The vocabulary of the mask mitigation (SPEC §6, trainers/mitigations.py applies it). Any change
# here changes trainers.mitigations.MASK_VOCABULARY_VERSION and so the key of every masked run.

# Words that name one of the study's cultures, besides people's names (NAMES), all replaced by
# "[MASK]": the culture adjectives, their demonyms and languages, and the countries that stand for
# each culture (CULTURE_COUNTRIES, spelled as prose spells them; Portugal added) with their
# demonyms. Matched as written or in capitals, whole words only; multi-word entries are one mask.
# "Jordan" is also a first name and "Hong" a Chinese name: masking either is what the mitigation
# wants anyway.
CULTURE_LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "arabic": ("Arabic", "Arab", "Arabs", "Arabian", "Saudi Arabia", "Saudi", "Saudis",
                   "Egypt", "Egyptian", "Egyptians", "Iraq", "Iraqi", "Iraqis", "Jordan", "Jordanian",
                   "Jordanians", "Kuwait", "Kuwaiti", "Kuwaitis", "Lebanon", "Lebanese", "Libya", "Libyan",
                   "Libyans", "Morocco", "Moroccan", "Moroccans", "Palestine", "Palestinian", "Palestinians",
                   "Tunisia", "Tunisian", "Tunisians"),
        "chinese": ("Chinese", "China", "Mandarin", "Cantonese", "Hong Kong"),
        "portuguese": ("Portuguese", "Portugal", "Brazil", "Brazilian", "Brazilians"),
        "spanish": ("Spanish", "Spain", "Spaniard", "Spaniards", "Hispanic", "Hispanics", "Latino", "Latinos",
                    "Latina", "Latinas", "Latin America", "Latin American", "Latin Americans",
                    "Argentina", "Argentine", "Argentinian", "Argentines", "Argentinians", "Bolivia", "Bolivian",
                    "Bolivians", "Chile", "Chilean", "Chileans", "Colombia", "Colombian", "Colombians",
                    "Ecuador", "Ecuadorian", "Ecuadorians", "El Salvador", "Salvadoran", "Salvadorans",
                    "Guatemala", "Guatemalan", "Guatemalans", "Honduras", "Honduran", "Hondurans", "Mexico",
                    "Mexican", "Mexicans", "Nicaragua", "Nicaraguan", "Nicaraguans", "Peru", "Peruvian",
                    "Peruvians", "Puerto Rico", "Puerto Rican", "Puerto Ricans", "Uruguay", "Uruguayan",
                    "Uruguayans", "Venezuela", "Venezuelan", "Venezuelans"),
    }
)

# Gendered words with a neutral form that fits wherever the word does (lower case; the mask keeps
# the case of the word it replaces). Plurals are listed: "men" -> "people", not "persons".
GENDER_NEUTRAL_FORMS: Mapping[str, str] = MappingProxyType(
    {
        "he": "they", "she": "they", "him": "them", "hers": "theirs", "himself": "themselves",
        "herself": "themselves",
        "man": "person", "woman": "person", "men": "people", "women": "people",
        "gentleman": "person", "lady": "person", "gentlemen": "people", "ladies": "people",
        "guy": "person", "guys": "people",
        "boy": "child", "girl": "child", "boys": "children", "girls": "children",
        "son": "child", "daughter": "child", "sons": "children", "daughters": "children",
        "stepson": "stepchild", "stepdaughter": "stepchild", "stepsons": "stepchildren",
        "stepdaughters": "stepchildren",
        "grandson": "grandchild", "granddaughter": "grandchild", "grandsons": "grandchildren",
        "granddaughters": "grandchildren",
        "father": "parent", "mother": "parent", "fathers": "parents", "mothers": "parents",
        "dad": "parent", "mom": "parent", "mum": "parent", "dads": "parents", "moms": "parents", "mums": "parents",
        "stepfather": "stepparent", "stepmother": "stepparent", "stepfathers": "stepparents",
        "stepmothers": "stepparents",
        "grandfather": "grandparent", "grandmother": "grandparent", "grandfathers": "grandparents",
        "grandmothers": "grandparents", "grandpa": "grandparent", "grandma": "grandparent",
        "brother": "sibling", "sister": "sibling", "brothers": "siblings", "sisters": "siblings",
        "uncle": "relative", "aunt": "relative", "uncles": "relatives", "aunts": "relatives",
        "nephew": "relative", "niece": "relative", "nephews": "relatives", "nieces": "relatives",
        "husband": "spouse", "wife": "spouse", "husbands": "spouses", "wives": "spouses",
        "boyfriend": "partner", "girlfriend": "partner", "boyfriends": "partners", "girlfriends": "partners",
        "fiancé": "partner", "fiancée": "partner", "fiance": "partner", "fiancee": "partner",
        "actress": "actor", "actresses": "actors", "waiter": "server", "waitress": "server",
        "waiters": "servers", "waitresses": "servers", "hostess": "host", "hostesses": "hosts",
        "heroine": "hero", "heroines": "heroes", "stewardess": "flight attendant",
        "stewardesses": "flight attendants",
        "chairman": "chairperson", "chairwoman": "chairperson", "chairmen": "chairpersons",
        "chairwomen": "chairpersons", "spokesman": "spokesperson", "spokeswoman": "spokesperson",
        "spokesmen": "spokespeople", "spokeswomen": "spokespeople", "businessman": "businessperson",
        "businesswoman": "businessperson", "businessmen": "businesspeople", "businesswomen": "businesspeople",
        "salesman": "salesperson", "saleswoman": "salesperson", "salesmen": "salespeople",
        "saleswomen": "salespeople", "policeman": "police officer", "policewoman": "police officer",
        "policemen": "police officers", "policewomen": "police officers", "fireman": "firefighter",
        "firemen": "firefighters", "craftsman": "craftsperson", "craftswoman": "craftsperson",
    }
)

# "his" and "her" have two neutral forms each: (before a noun phrase, anywhere else). "his book" ->
# "their book" but "the book is his" -> "theirs"; "her book" -> "their book" but "I saw her" ->
# "them". trainers/mitigations.py decides which by the next word.
GENDER_POSSESSIVE_FORMS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"his": ("their", "theirs"), "her": ("their", "them")}
)

# Gendered words with no neutral form that keeps the sentence ("a female nurse"): masked instead.
GENDER_MASKED_WORDS: tuple[str, ...] = ("male", "female", "males", "females", "masculine", "feminine")

# Gendered titles, dropped with the space after them when a name follows ("Mr. Smith" -> "Smith").
GENDER_TITLES: tuple[str, ...] = ("Mr", "Mrs", "Ms", "Miss", "Mister", "Sir", "Dame", "Madam", "Madame")
