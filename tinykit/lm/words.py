"""Word lists the generated corpus draws from (written here, so nothing is downloaded).

Plurals come from the ``inflect`` package at generation time; the lists only pick the words.
"""

from __future__ import annotations

# Regular nouns of everyday English (plural by -s, -es, -ies, -ves ... as inflect says).
NOUNS = """
apple arm baby bag ball banana bank basket bath beach bean bear bed bee bell belt bench berry
bike bird boat body bone book boot bottle bowl box boy branch bread brick bridge brush bucket
bus bush cake camera candle car card carrot cart castle cat chair cheek cherry chicken church
city class clock cloud coat coin cook copy country cousin cow crab cup daisy desk dish dog doll
donkey door dress drum duck eagle ear egg engine eye face factory farm fence field finger flag
flower fly fork fox friend frog game garden gate gift girl glass glove goat grape hand hat hero
hill horse house inch island jacket jar key kiss kitten ladder lady lake lamp leg lemon letter
library lily lion lip lunch map match melon monkey moon mountain nail nest night nose note ocean
orange owl page pan party peach pear pen pencil penny pig pillow pizza plane plate pony potato
puppy queen rabbit radio river road rock roof room rose ruler sandwich school sea seed shirt
shoe sister sky snake sock song spoon spy star stone story street sun table tail teacher tent
tiger tomato tool town toy train tree truck valley village wall watch window wing witch worm
zebra zoo
""".split()

# Nouns whose plural breaks the -s rule (inflect knows each one).
IRREGULAR = """
child man woman mouse goose tooth foot person ox leaf knife wife life wolf half shelf loaf
calf sheep deer fish moose analysis crisis thesis criterion phenomenon cactus
""".split()

# Antonym pairs (positive word, negative word): the "opposite" task goes both ways, and the
# same words are one-word questions of the sentiment task, so a bare word alone does not say
# which task is asked.
OPPOSITES = [
    ("good", "bad"),
    ("happy", "sad"),
    ("clean", "dirty"),
    ("beautiful", "ugly"),
    ("kind", "cruel"),
    ("polite", "rude"),
    ("strong", "weak"),
    ("rich", "poor"),
    ("safe", "dangerous"),
    ("pleasant", "unpleasant"),
    ("friendly", "hostile"),
    ("calm", "angry"),
    ("brave", "afraid"),
    ("honest", "dishonest"),
    ("healthy", "sick"),
    ("fresh", "stale"),
    ("smooth", "rough"),
    ("quiet", "noisy"),
    ("cheap", "expensive"),
    ("comfortable", "uncomfortable"),
    ("interesting", "boring"),
    ("tidy", "messy"),
    ("generous", "selfish"),
    ("wise", "foolish"),
    ("warm", "cold"),
    ("bright", "dull"),
    ("fast", "slow"),
    ("easy", "difficult"),
    ("lucky", "unlucky"),
    ("gentle", "harsh"),
    ("correct", "wrong"),
    ("useful", "useless"),
    ("tasty", "bland"),
    ("cheerful", "gloomy"),
    ("love", "hate"),
    ("success", "failure"),
    ("win", "lose"),
    ("praise", "blame"),
    ("best", "worst"),
    ("clever", "stupid"),
]

# Sentiment-like templates: a subject, then words that carry the label.
SUBJECTS = """
food movie service hotel book song room staff pizza coffee show concert game trip park beach
music story teacher class car phone bed weather team city
""".split()
POSITIVE = sorted(
    {p for p, _ in OPPOSITES}
    | set(
        """
great wonderful excellent lovely delightful amazing fantastic superb perfect brilliant
charming enjoyable fun splendid
""".split()
    )
)
NEGATIVE = sorted(
    {n for _, n in OPPOSITES}
    | set(
        """
awful terrible horrible disgusting broken annoying painful disappointing
""".split()
    )
)

NAMES = """
Tom Anna Sam Maria Ben Lily Max Zoe Leo Mia Jack Emma Noah Ella Omar Sara Ivan Nina Paul Rosa
""".split()

# Countable things for word problems (plural form written out).
THINGS = """
apples pencils marbles cookies stickers books coins cards shells stamps candies balloons
oranges eggs toys flowers
""".split()
