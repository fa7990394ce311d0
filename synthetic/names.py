"""Names for a diverse English county, and the ways systems get them wrong.

Faker supplies names per locale; a family's locale follows its ethnicity. The
nickname table is our own short list of British usage, deliberately independent of
any list the linkage code uses, so linkage is not tuned to the generator.
"""

from __future__ import annotations

import random
import unicodedata

from faker import Faker

# Ethnicity (DfE code) -> Faker locales, first language codes (DfE), chance of EAL.
ETHNIC_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], float]] = {
    "WBRI": (("en_GB",), ("ENG",), 0.0),
    "WIRI": (("en_IE",), ("ENG", "GAE"), 0.02),
    "WROM": (("ro_RO",), ("ROM", "RMN"), 0.9),
    "WOTH": (
        ("pl_PL", "ro_RO", "lt_LT", "pt_PT", "bg_BG", "hu_HU"),
        ("POL", "RMN", "LIT", "POR", "BUL", "HUN"),
        0.85,
    ),
    "MWBC": (("en_GB",), ("ENG",), 0.02),
    "MWBA": (("en_GB", "yo_NG"), ("ENG", "YOR"), 0.2),
    "MWAS": (("en_GB", "en_IN"), ("ENG", "PNJ"), 0.2),
    "MOTH": (("en_GB", "es_ES"), ("ENG", "SPA"), 0.25),
    "AIND": (("en_IN",), ("ENG", "PNJ", "GUJ", "TAM"), 0.7),
    "APKN": (("en_PK",), ("URD", "PNJ", "ENG"), 0.8),
    "ABAN": (("en_BD",), ("BNG", "ENG"), 0.85),
    "AOTH": (("ne_NP", "si_LK"), ("NEP", "SIN", "ENG"), 0.8),
    "BAFR": (("yo_NG", "ig_NG", "en_KE", "tw_GH"), ("ENG", "YOR", "IGB", "SWA", "AKA"), 0.65),
    "BCRB": (("en_GB",), ("ENG",), 0.02),
    "CHNE": (("zh_CN",), ("CHI", "CAN", "ENG"), 0.8),
    "OOTH": (("tr_TR", "fa_IR", "ar_EG"), ("TUR", "FAR", "ARA"), 0.9),
}
# Faker locales whose names are not in Latin script are romanised by falling back
# to a Latin-script locale with similar names.
LATIN_FALLBACK = {
    "zh_CN": "en_GB",
    "fa_IR": "tr_TR",
    "ar_EG": "tr_TR",
    "ne_NP": "en_IN",
    "si_LK": "en_IN",
    "en_BD": "en_IN",
    "bg_BG": "ro_RO",
}
CHINESE_SURNAMES = (
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Lin",
    "Guo",
    "He",
    "Luo",
)
CHINESE_GIVEN_F = ("Mei", "Xia", "Lan", "Ying", "Hui", "Jing", "Li", "Yan", "Fang", "Ling")
CHINESE_GIVEN_M = ("Wei", "Jun", "Hao", "Lei", "Jie", "Tao", "Ming", "Bo", "Chen", "Yong")

NICKNAMES: dict[str, tuple[str, ...]] = {
    "Alexander": ("Alex", "Xander"),
    "Alexandra": ("Alex", "Lexi"),
    "Andrew": ("Andy",),
    "Anthony": ("Tony", "Ant"),
    "Benjamin": ("Ben", "Benji"),
    "Catherine": ("Kate", "Cathy"),
    "Charles": ("Charlie",),
    "Charlotte": ("Lottie", "Charlie"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "David": ("Dave",),
    "Deborah": ("Debbie",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Betty"),
    "Eleanor": ("Ellie", "Nell"),
    "Frederick": ("Fred", "Freddie"),
    "Gemma": ("Gem",),
    "Harriet": ("Hattie",),
    "Henry": ("Harry",),
    "Isabella": ("Bella", "Izzy"),
    "Isabelle": ("Izzy",),
    "Jacob": ("Jake",),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Jennifer": ("Jen", "Jenny"),
    "Jessica": ("Jess",),
    "John": ("Jack", "Johnny"),
    "Jonathan": ("Jon",),
    "Joseph": ("Joe", "Joey"),
    "Joshua": ("Josh",),
    "Katherine": ("Kate", "Katie", "Kathy"),
    "Kathryn": ("Kate", "Katie"),
    "Kimberley": ("Kim",),
    "Lawrence": ("Larry",),
    "Leonard": ("Len", "Lenny"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Matthew": ("Matt",),
    "Michael": ("Mike", "Mikey"),
    "Nathan": ("Nate",),
    "Nicholas": ("Nick", "Nicky"),
    "Oliver": ("Ollie",),
    "Patrick": ("Pat", "Paddy"),
    "Peter": ("Pete",),
    "Rebecca": ("Becky", "Becca"),
    "Richard": ("Rich", "Ricky", "Dick"),
    "Robert": ("Rob", "Bob", "Bobby"),
    "Samantha": ("Sam",),
    "Samuel": ("Sam", "Sammy"),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Susan": ("Sue", "Suzy"),
    "Theodore": ("Theo", "Ted"),
    "Thomas": ("Tom", "Tommy"),
    "Timothy": ("Tim",),
    "Victoria": ("Vicky", "Tori"),
    "William": ("Will", "Bill", "Billy", "Liam"),
    "Zachary": ("Zac", "Zach"),
    "Abigail": ("Abi", "Abby"),
    "Amelia": ("Millie",),
    "Florence": ("Flo",),
    "Gabriel": ("Gabe",),
    "Jasmine": ("Jas",),
    "Josephine": ("Josie", "Jo"),
    "Joanne": ("Jo",),
    "Louise": ("Lou",),
    "Mohammed": ("Mo",),
    "Muhammad": ("Mo",),
    "Nathaniel": ("Nat",),
    "Penelope": ("Penny",),
    "Sophia": ("Sophie",),
    "Stanley": ("Stan",),
    "Sebastian": ("Seb",),
    "Harrison": ("Harry",),
    "Francesca": ("Fran", "Frankie"),
    "Natasha": ("Tash",),
    "Daniela": ("Dani",),
    "Aleksander": ("Olek",),
    "Katarzyna": ("Kasia",),
    "Małgorzata": ("Gosia",),
    "Aleksandra": ("Ola",),
    "Jakub": ("Kuba",),
    "Wojciech": ("Wojtek",),
}


class NameMaker:
    """Seeded Faker instances per locale, so the same seed gives the same people."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        self.rng = rng
        self._fakers: dict[str, Faker] = {}
        self._seed = seed

    def _faker(self, locale: str) -> Faker:
        locale = LATIN_FALLBACK.get(locale, locale)
        fake = self._fakers.get(locale)
        if fake is None:
            fake = Faker(locale)
            fake.seed_instance(self._seed * 1_000 + len(self._fakers))
            self._fakers[locale] = fake
        return fake

    def locale_for(self, ethnicity: str) -> str:
        return self.rng.choice(ETHNIC_NAMES[ethnicity][0])

    def language_for(self, ethnicity: str) -> str:
        _, languages, eal = ETHNIC_NAMES[ethnicity]
        if self.rng.random() < eal:
            non_english = [x for x in languages if x != "ENG"] or ["ENG"]
            return self.rng.choice(non_english)
        return "ENG"

    def given(self, locale: str, sex: str) -> str:
        if locale == "zh_CN":
            return self.rng.choice(CHINESE_GIVEN_F if sex == "F" else CHINESE_GIVEN_M)
        fake = self._faker(locale)
        name = fake.first_name_female() if sex == "F" else fake.first_name_male()
        return _single_word(name)

    def surname(self, locale: str, sex: str = "M") -> str:
        if locale == "zh_CN":
            return self.rng.choice(CHINESE_SURNAMES)
        fake = self._faker(locale)
        # Polish and other locales inflect surnames by sex (Kowalski / Kowalska).
        if sex == "F" and hasattr(fake, "last_name_female"):
            return _single_word(fake.last_name_female(), keep_hyphen=True)
        if hasattr(fake, "last_name_male"):
            return _single_word(fake.last_name_male(), keep_hyphen=True)
        return _single_word(fake.last_name(), keep_hyphen=True)

    def middle(self, locale: str, sex: str) -> str:
        return self.given(locale, sex) if self.rng.random() < 0.55 else ""


def _single_word(name: str, keep_hyphen: bool = False) -> str:
    name = name.strip()
    if not keep_hyphen:
        name = name.split("-")[0]
    return name.split(" ")[-1] if " " in name and not keep_hyphen else name


def strip_diacritics(text: str) -> str:
    """What an ASCII-only system stores: Łukasz -> Lukasz, Zoë -> Zoe."""
    special = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i", "đ": "d"}
    text = "".join(special.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_diacritics(text: str) -> bool:
    return strip_diacritics(text) != text


def typo(name: str, rng: random.Random) -> str:
    """One keyboard-style edit: a dropped, doubled, swapped or substituted letter."""
    if len(name) < 3:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 1)
    kind = rng.choice(("drop", "double", "swap", "sub"))
    if kind == "drop":
        return name[:i] + name[i + 1 :]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    if kind == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    vowels = "aeiou"
    ch = name[i]
    repl = rng.choice(vowels.replace(ch.lower(), "")) if ch.lower() in vowels else ch
    if repl == ch:
        repl = rng.choice("bcdfghklmnprst")
    return name[:i] + repl + name[i + 1 :]


def nickname(name: str, rng: random.Random) -> str | None:
    options = NICKNAMES.get(name)
    return rng.choice(options) if options else None
