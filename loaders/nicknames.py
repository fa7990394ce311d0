"""Common English given-name diminutives, for name comparison in linkage.

A general list (the usual forms a UK registrar or school office meets), not derived
from the synthetic county: "Bill" and "William" are one name to a human reader, and
linkage should see them as close as a typo. Each nickname maps to its formal name.
"""

from __future__ import annotations

_FORMAL_TO_SHORT: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "abi"),
    "alexander": ("alex", "alec", "sandy", "xander"),
    "alexandra": ("alex", "lexi", "sandra", "alexa"),
    "alfred": ("alfie", "alf", "fred"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "benjamin": ("ben", "benji", "benny"),
    "callum": ("cal",),
    "catherine": ("cath", "cathy", "kate", "katie", "kat"),
    "charles": ("charlie", "chas", "chuck"),
    "charlotte": ("lottie", "charlie", "lotte"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("debbie", "debs", "deb"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "eleanor": ("ellie", "nell", "nora"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "elsie"),
    "ellie-mae": ("ellie",),
    "emily": ("em", "emmy", "milly"),
    "frederick": ("fred", "freddie", "freddy"),
    "gabriel": ("gabe",),
    "gregory": ("greg",),
    "harriet": ("hattie", "harry"),
    "henry": ("harry", "hal", "hank"),
    "isabella": ("bella", "izzy", "issy"),
    "isabelle": ("bella", "izzy", "issy"),
    "jacob": ("jake", "jac"),
    "james": ("jim", "jimmy", "jamie", "jem"),
    "jennifer": ("jen", "jenny"),
    "jessica": ("jess", "jessie"),
    "jonathan": ("jon", "jonny", "johnny"),
    "john": ("jack", "johnny", "jon"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "katherine": ("kate", "katie", "kathy", "kat", "kitty"),
    "kenneth": ("ken", "kenny"),
    "leonard": ("len", "lenny", "leo"),
    "lucy": ("luce",),
    "margaret": ("maggie", "meg", "peggy", "madge", "greta"),
    "matilda": ("tilly", "tilda", "mattie"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mikey", "micky"),
    "nathan": ("nate", "nat"),
    "nathaniel": ("nat", "nate", "nathan"),
    "nicholas": ("nick", "nicky", "nico"),
    "oliver": ("ollie", "olly"),
    "patricia": ("pat", "patsy", "trish"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "philip": ("phil", "pip"),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rich", "rick", "ricky", "dick", "richie"),
    "robert": ("rob", "robbie", "bob", "bobby", "bert"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "sarah": ("sally", "sadie"),
    "sophia": ("sophie", "soph"),
    "stephen": ("steve", "stevie"),
    "steven": ("steve", "stevie"),
    "susan": ("sue", "susie", "suzy"),
    "theodore": ("theo", "ted", "teddy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vikki", "tori"),
    "william": ("will", "bill", "billy", "liam", "willie"),
    "zachary": ("zach", "zack"),
}

# A nickname shared by several formal names (Alex, Sam, Pat) maps to the first; the
# comparison only ever asks "could these be one name", so that is harmless.
NICKNAME_TO_FORMAL: dict[str, str] = {}
for formal, shorts in _FORMAL_TO_SHORT.items():
    for short in shorts:
        NICKNAME_TO_FORMAL.setdefault(short, formal)


def canonical_given(name: str) -> str:
    """The formal form of a (lower-case, plain) given name, or the name itself."""
    return NICKNAME_TO_FORMAL.get(name, name)
