"""The words the rule-based writer understands besides the schema's own: question
framing, counting, aggregates, comparisons, ordering and grouping.

Each entry is a phrase (a tuple of lower-case words, unstemmed) and what it means. A
word that is in none of these tables, names nothing in the schema and is no stored
value makes the writer decline: precision first.
"""

from __future__ import annotations

__all__ = [
    "AGGREGATES",
    "ALTERNATIVES",
    "COMPARISONS",
    "CONNECTORS",
    "COUNTING",
    "DIRECTIONS",
    "DISTINCT",
    "EACH",
    "EVENTS",
    "FILLER",
    "IMPLIED_COMPARISONS",
    "IMPLIED_SUPERLATIVES",
    "MODE",
    "MONEY",
    "NAMING",
    "NEGATIONS",
    "NUMBER_WORDS",
    "ORDERINGS",
    "RELATIONS",
    "SUPERLATIVES",
]


def _phrases(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.split()) for p in text.split(","))


FILLER = frozenset(
    _phrases(
        "a,an,the,of,all,for,do,does,did,we,have,has,there,are,is,was,were,be,been,that,who,"
        "whose,which,with,their,its,in,on,what,whats,me,please,show,list,give,return,find,"
        "display,tell,listed,exist,recorded,stored,any,ever,to,those,these,this,"
        "also,where,from,in total,in the database,do we have,are there,is there,can you,"
        "all the,everything,information,info,data,records,entries,rows,across,among,overall,either,"
        "live,lives,living,located,based,shared by"
    )
)
"""Phrases that frame a question without changing its query."""

RELATIONS = _phrases(
    "use,uses,used,using,used by,used for,used in,own,owns,owned,owned by,belong to,belongs to,"
    "belonging to,contain,contains,containing,include,includes,including"
)
"""Verbs that say rows of one table are tied to rows of another ("documents that use the
template ..."): explained only between two tables the question names that one foreign key
links; "How many templates are used?" names one table, and is declined."""
EVENTS = _phrases(
    "produced,made,built,manufactured,released,published,founded,established,opened,created,"
    "launched,held,issued,registered,hired"
)
"""Verbs of a thing's date ("cars produced in 1980"): explained only right before a year
("in 1980", "before 1980", "between 1970 and 1980"), which the table's one date or year
column takes."""
CONNECTORS = (*_phrases("and,as well as,along with,together with,plus"), (",",))
MONEY = _phrases("dollars,dollar,usd,euros,euro,eur,pounds,pound,gbp")
"""A unit after a number: the comparison is on the table's one money column."""
NAMING = _phrases("named,called,titled,with the name,with name,by the name of")
"""Before a value: it is stored in a name or title column."""
NEGATIONS = _phrases("not,is not,are not,other than")
ALTERNATIVES = _phrases("or")
COUNTING = _phrases(
    "how many,number of,count of,count,total number of,total count of,the number of"
)
MODE = _phrases("most common,most frequent,most popular")
"""The value of a column that most rows share."""
DISTINCT = _phrases("distinct,different,unique")
EACH = _phrases("each,every,per,for each,for every")

AGGREGATES: dict[tuple[str, ...], str] = {
    **dict.fromkeys(_phrases("average,avg,mean"), "AVG"),
    **dict.fromkeys(_phrases("maximum,max"), "MAX"),
    **dict.fromkeys(_phrases("minimum,min"), "MIN"),
    **dict.fromkeys(_phrases("sum of,sum,total"), "SUM"),
}
"""Always an aggregate of the column that follows."""

SUPERLATIVES: dict[tuple[str, ...], str] = {
    **dict.fromkeys(_phrases("highest,largest,biggest,greatest,most,maximum"), "DESC"),
    **dict.fromkeys(_phrases("lowest,smallest,least,fewest,minimum"), "ASC"),
}
"""An aggregate (``What is the highest price``) or, after "with the", the row with the
extreme value (``the shop with the highest price``)."""

IMPLIED_SUPERLATIVES: dict[tuple[str, ...], tuple[str, str]] = {
    ("youngest",): ("age", "ASC"),
    ("oldest",): ("age", "DESC"),
    ("tallest",): ("height", "DESC"),
    ("shortest",): ("height", "ASC"),
    ("heaviest",): ("weight", "DESC"),
    ("lightest",): ("weight", "ASC"),
    ("cheapest",): ("price", "ASC"),
    ("most", "expensive"): ("price", "DESC"),
}
"""Adjectives that name their column: the youngest singer is the one with the lowest age."""

COMPARISONS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        _phrases(
            "more than,greater than,higher than,larger than,bigger than,over,above,exceeding,"
            "later than,after,bigger than"
        ),
        ">",
    ),
    **dict.fromkeys(_phrases("at least,no less than,not less than,since"), ">="),
    **dict.fromkeys(
        _phrases("less than,fewer than,lower than,smaller than,under,below,before,earlier than"),
        "<",
    ),
    **dict.fromkeys(_phrases("at most,no more than,not more than,until"), "<="),
    **dict.fromkeys(_phrases("equal to,equals,exactly"), "="),
    ("between",): "BETWEEN",
}
"""A comparison with the number that follows, on the column named before it."""

IMPLIED_COMPARISONS: dict[tuple[str, ...], tuple[str, str]] = {
    ("older", "than"): ("age", ">"),
    ("younger", "than"): ("age", "<"),
    ("aged",): ("age", "="),
    ("born", "before"): ("birth", "<"),
    ("born", "after"): ("birth", ">"),
    ("born", "in"): ("birth", "="),
    ("born", "between"): ("birth", "BETWEEN"),
    ("taller", "than"): ("height", ">"),
    ("shorter", "than"): ("height", "<"),
    ("heavier", "than"): ("weight", ">"),
    ("lighter", "than"): ("weight", "<"),
}
"""Comparisons that name their column."""

ORDERINGS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        _phrases(
            "ordered by,sorted by,order by,sort by,sorted in,ordered in,in order of,"
            "in ascending order of,in ascending order by,ascending order of,by ascending,"
            "ordered ascending by,sorted ascending by,in alphabetical order of,"
            "in ascending alphabetical order of,alphabetically by,ordered alphabetically by,"
            "ordered by ascending,sorted by ascending,order by ascending,sort by ascending,"
            "in lexicographical order of"
        ),
        "ASC",
    ),
    **dict.fromkeys(
        _phrases(
            "in descending order of,in descending order by,descending order of,by descending,"
            "ordered descending by,sorted descending by,from the highest to the lowest of,"
            "ordered by descending,sorted by descending,order by descending,sort by descending,"
            "in reverse alphabetical order of,in reverse lexicographical order of"
        ),
        "DESC",
    ),
}
"""An ordering by the column that follows."""

DIRECTIONS: dict[tuple[str, ...], str] = {
    **dict.fromkeys(
        _phrases(
            "ascending,asc,in ascending order,in increasing order,increasing,alphabetically,"
            "in alphabetical order,in ascending alphabetical order,from low to high,"
            "from lowest to highest,from the youngest to the oldest,from youngest to oldest,"
            "in order,in lexicographical order,lexicographically"
        ),
        "ASC",
    ),
    **dict.fromkeys(
        _phrases(
            "descending,desc,in descending order,in decreasing order,decreasing,"
            "from high to low,from highest to lowest,from the oldest to the youngest,"
            "from oldest to youngest,in reverse alphabetical order,in reversed alphabetical order,"
            "in reverse lexicographical order,in reversed lexicographical order"
        ),
        "DESC",
    ),
}
"""A direction after an ordering's column."""

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "single": "1",
}  # fmt: skip
