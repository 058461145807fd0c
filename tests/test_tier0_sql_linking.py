"""Schema linking of the SQL tier 0: the words of a question that name a table, column or
stored value beyond the schema's literal names, on real SQLite files the tests build."""

from __future__ import annotations

from pathlib import Path

from tests.sqlite_writer import answer, sqlite_writer

CARS = """
CREATE TABLE makers (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE cars_data (id INTEGER PRIMARY KEY, maker INTEGER REFERENCES makers(id),
  cylinders INTEGER, weight INTEGER, year INTEGER, horsepower TEXT);
INSERT INTO makers VALUES (1, 'amc'), (2, 'volvo');
INSERT INTO cars_data VALUES (1, 1, 4, 2100, 1974, '95'), (2, 1, 8, 3500, 1974, 'null'),
  (3, 2, 6, 3100, 1980, '110.5'), (4, 2, 8, 4100, 1981, '150');
"""


def test_a_table_named_with_a_kind_word_is_named_by_its_rows(tmp_path: Path) -> None:
    db, writer = sqlite_writer(tmp_path, CARS)
    assert answer(db, writer, "How many cars have more than 4 cylinders?") == [(3,)]
    assert answer(db, writer, "What is the minimum weight of cars with 8 cylinders?") == [(3500,)]
    db.close()


def test_a_column_keeps_its_name_over_a_table_named_with_a_kind_word(tmp_path: Path) -> None:
    db, writer = sqlite_writer(
        tmp_path,
        "CREATE TABLE price_list (id INTEGER PRIMARY KEY, item TEXT, price REAL);"
        "INSERT INTO price_list VALUES (1, 'tea', 2.0), (2, 'cake', 4.0);",
    )
    assert answer(db, writer, "What is the average price?") == [(3.0,)]
    assert answer(db, writer, "How many prices are there?") is None  # the column, not rows
    db.close()


DOCUMENTS = """
CREATE TABLE templates (template_id INTEGER PRIMARY KEY, type_code TEXT);
CREATE TABLE documents (document_id INTEGER PRIMARY KEY,
  template_id INTEGER REFERENCES templates(template_id), name TEXT);
INSERT INTO templates VALUES (1, 'PPT'), (2, 'BK'), (3, 'PPT');
INSERT INTO documents VALUES (1, 1, 'Intro'), (2, 1, 'Plan'), (3, 2, 'Notes');
"""


def test_a_relation_verb_ties_two_linked_tables_the_question_names(tmp_path: Path) -> None:
    db, writer = sqlite_writer(tmp_path, DOCUMENTS)
    assert answer(db, writer, "How many documents are using the template with type code PPT?") == [
        (2,)
    ]
    assert answer(db, writer, "What are the ids of templates used by more than one document?") == [
        (1,)
    ]
    assert answer(db, writer, "How many templates are used?") is None  # by what? not all 3
    assert answer(db, writer, "How many documents use type code PPT?") is None  # one table
    db.close()


def test_a_verb_of_a_date_is_explained_by_the_year_after_it(tmp_path: Path) -> None:
    db, writer = sqlite_writer(tmp_path, CARS)
    assert answer(db, writer, "How many cars were produced in 1974?") == [(2,)]
    assert answer(db, writer, "How many cars were made before 1980?") == [(2,)]
    assert answer(db, writer, "How many cars were produced?") is None  # produced when?
    assert answer(db, writer, "How many cars were made with 8 cylinders?") is None
    db.close()


def test_a_text_column_of_years_may_be_the_date_meant(tmp_path: Path) -> None:
    db, writer = sqlite_writer(
        tmp_path,
        "CREATE TABLE films (id INTEGER PRIMARY KEY, year INTEGER, premiere TEXT);"
        "INSERT INTO films VALUES (1, 1974, '1975'), (2, 1980, 'null');",
    )
    assert answer(db, writer, "How many films were released in 1974?") is None
    db.close()


PLAYERS = """
CREATE TABLE people (people_id INTEGER PRIMARY KEY, name TEXT, height REAL);
CREATE TABLE poker_player (poker_player_id INTEGER PRIMARY KEY,
  people_id INTEGER REFERENCES people(people_id), earnings REAL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES people(people_id), total REAL);
INSERT INTO people VALUES (1, 'Ana', 1.7), (2, 'Bo', 1.8), (3, 'Cy', 1.9);
INSERT INTO poker_player VALUES (1, 1, 500), (2, 3, 900);
INSERT INTO orders VALUES (1, 2, 10), (2, 3, 20);
"""


def test_a_role_of_a_person_is_named_by_the_person_row(tmp_path: Path) -> None:
    db, writer = sqlite_writer(tmp_path, PLAYERS)
    assert sorted(answer(db, writer, "What are the names of poker players?") or []) == [
        ("Ana",),
        ("Cy",),
    ]
    assert answer(db, writer, "What is the name of the poker player with the most earnings?") == [
        ("Cy",)
    ]
    assert answer(db, writer, "What are the names of orders?") is None  # the customer's name
    db.close()


PARAGRAPHS = """
CREATE TABLE documents (document_id INTEGER PRIMARY KEY, document_name TEXT);
CREATE TABLE paragraphs (paragraph_id INTEGER PRIMARY KEY,
  document_id INTEGER REFERENCES documents(document_id), paragraph_text TEXT);
INSERT INTO documents VALUES (1, 'Intro'), (2, 'Plan');
INSERT INTO paragraphs VALUES (1, 1, 'Hello'), (2, 1, 'World'), (3, 2, 'Steps');
"""


def test_a_listed_column_that_says_its_table_lists_that_tables_rows(tmp_path: Path) -> None:
    db, writer = sqlite_writer(tmp_path, PARAGRAPHS)
    rows = answer(db, writer, "What are the paragraph texts for the document named Intro?")
    assert sorted(rows or []) == [("Hello",), ("World",)]
    assert answer(db, writer, "What are the texts for the document named Intro?") is None
    db.close()
