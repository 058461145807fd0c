"""What a checked query may call: a per-dialect allowlist of side-effect-free functions
and the types it may cast to.

A function is named as sqlglot knows it: the name as written for a function sqlglot does
not recognise (``julianday``, ``age``), else sqlglot's canonical name for it, which the
SQLite, PostgreSQL and MySQL spellings share (``substr``/``substring``/``mid`` are all
``substring``; ``instr``/``strpos``/``locate`` are ``str_position``). The checker's
rejection message gives the exact name to add. Operators (``AND``, ``LIKE``, ``~``,
``->``) are not functions here.

Left out on purpose: anything with an effect outside the query (locks, sequences,
sleeps, files, replication, statistics, configuration, notifications, large objects,
dblink), anything that reads outside the connected schema (``*_to_xml``,
``current_setting``, ``to_regclass``, size and privilege functions) and anything that
reports on the server or session (``version``, ``current_user``, ``database``), and
SQLite's ``printf``/``format``: ``printf('%.*c', 2000000000, 'x')`` runs for seconds in one
call whatever the length limit, where no deadline check can stop it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlglot import exp
from sqlglot.expressions.datatypes import DType

__all__ = ["ALLOWED_CASTS", "ALLOWED_FUNCTIONS", "allowed_functions", "function_name"]

_AGGREGATES = """count sum avg min max group_concat array_agg stddev stddev_pop stddev_samp
variance variance_pop covar_pop covar_samp percentile_cont percentile_disc median mode
any_value count_if logical_and logical_or bitwise_and_agg bitwise_or_agg bitwise_xor_agg"""
_WINDOWS = """row_number rank dense_rank ntile lag lead first_value last_value nth_value
percent_rank cume_dist"""
_CONDITIONALS = "case coalesce nullif if greatest least exists"
_STRINGS = """length octet_length bit_length lower upper initcap substring str_position left
right pad trim replace translate reverse repeat space concat concat_ws split_part ascii chr
unicode hex unhex md5 sha sha2 soundex starts_with regexp_replace regexp_extract
regexp_substr regexp_count regexp_instr substring_index"""
_NUMBERS = """abs ceil floor round trunc sign sqrt cbrt exp ln log power pi rand degrees
radians sin cos tan asin acos atan atan2 cot width_bucket"""
_DATES = """current_date current_time current_timestamp localtime localtimestamp date time
datetime timestamp extract date_add date_sub datediff date_trunc timestamp_trunc
time_to_str str_to_date str_to_time unix_to_time time_to_unix str_to_unix ts_or_ds_to_date
ts_or_ds_to_timestamp ts_or_ds_to_datetime ts_or_ds_to_time ts_or_ds_add ts_or_ds_diff
time_str_to_time time_str_to_date timestamp_add timestamp_sub timestampdiff year quarter
month week week_of_year day day_of_month day_of_week day_of_year hour minute second
dayname monthname last_day add_months make_interval date_from_parts time_from_parts
timestamp_from_parts"""
_COMMON = " ".join((_AGGREGATES, _WINDOWS, _CONDITIONALS, _STRINGS, _NUMBERS, _DATES))

_SQLITE = """total typeof likely unlikely likelihood julianday unixepoch
timediff"""
_POSTGRES = """every format regexp_match regexp_matches regexp_split_to_array quote_ident
quote_literal quote_nullable to_number make_date age isfinite date_bin justify_days
justify_hours justify_interval scale clock_timestamp statement_timestamp
transaction_timestamp cardinality array array_size array_to_string string_to_array
exploding_generate_series explode num_nonnulls num_nulls gcd lcm trim_scale"""
_MYSQL = """mid field elt find_in_set ord strcmp conv bin oct now weekday yearweek adddate
subdate makedate from_days unix_timestamp time_to_sec sec_to_time timediff number_to_str"""

ALLOWED_FUNCTIONS: Mapping[str, frozenset[str]] = {
    dialect: frozenset((_COMMON + " " + own).split())
    for dialect, own in (("sqlite", _SQLITE), ("postgres", _POSTGRES), ("mysql", _MYSQL))
}
"""Function names each dialect may call (see the module docstring for the naming)."""
_COMMON_NAMES = frozenset(_COMMON.split())

ALLOWED_CASTS: frozenset[DType] = frozenset(
    exp.DataType.TEXT_TYPES
    | exp.DataType.NUMERIC_TYPES
    | exp.DataType.TEMPORAL_TYPES
    | exp.DataType.BINARY_TYPES
    | {DType.BOOLEAN, DType.INTERVAL, DType.JSON, DType.JSONB, DType.UUID}
)
"""Types a query may cast to: text, numbers, dates and times, binary, boolean, interval,
JSON and UUID (not ``regclass``, ``xml`` or other types whose input reads the catalog or
parses documents)."""


def function_name(node: exp.Func) -> str:
    """The name a function is allowed under: as written when sqlglot does not know it,
    else sqlglot's canonical name, lower-cased."""
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def allowed_functions(dialect: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The dialect's allowlist (the names common to all three for another dialect) plus
    `extra` names, matched case-insensitively."""
    return ALLOWED_FUNCTIONS.get(dialect, _COMMON_NAMES) | {name.lower() for name in extra}
