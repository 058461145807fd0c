"""Issue 18: a sentence that only refines the one before it stays in its subtask, and a
specialist that can answer only part of an instruction declines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fakes import plan, scripted
from trifecta import Trifecta
from trifecta.agents import ModelPlanner, group_refinements, split_clauses
from trifecta.specialists import default_specialists
from trifecta.specialists.sql import Column, Schema, Table, Writer

TABLES = """
CREATE TABLE shop (Shop_ID INTEGER PRIMARY KEY, Name TEXT, Location TEXT);
CREATE TABLE employee (Employee_ID INTEGER PRIMARY KEY, Name TEXT, Age INTEGER);
CREATE TABLE hiring (Shop_ID INTEGER REFERENCES shop, Employee_ID INTEGER REFERENCES employee);
CREATE TABLE evaluation (Employee_ID INTEGER REFERENCES employee, Year_awarded TEXT, Bonus REAL);
CREATE TABLE Departments (department_id INTEGER PRIMARY KEY, department_name TEXT);
CREATE TABLE Degree_Programs (degree_program_id INTEGER PRIMARY KEY,
    department_id INTEGER REFERENCES Departments, degree_summary_name TEXT);
CREATE TABLE Semesters (semester_id INTEGER PRIMARY KEY, semester_name TEXT);
CREATE TABLE Student_Enrolment (student_enrolment_id INTEGER PRIMARY KEY,
    degree_program_id INTEGER REFERENCES Degree_Programs,
    semester_id INTEGER REFERENCES Semesters, student_id INTEGER);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, amount REAL);
INSERT INTO shop VALUES (1, 'North', 'Oslo'), (2, 'South', 'Rome'), (3, 'East', 'Kyiv');
INSERT INTO employee VALUES (1, 'Ada', 30), (2, 'Bo', 41), (3, 'Cy', 25), (4, 'Di', 35);
INSERT INTO hiring VALUES (1, 1), (2, 2), (2, 3), (2, 4);
INSERT INTO evaluation VALUES (1, '2017', 3000), (3, '2018', 4000), (4, '2018', 3200);
INSERT INTO Departments VALUES (10, 'math'), (20, 'history');
INSERT INTO Degree_Programs VALUES (1, 10, 'BSc'), (2, 10, 'MSc'), (3, 20, 'BA');
INSERT INTO Semesters VALUES (1, 'spring 2020'), (2, 'fall 2020'), (3, 'spring 2021');
INSERT INTO Student_Enrolment VALUES (1, 1, 1, 7), (2, 3, 2, 8);
INSERT INTO orders VALUES (1, 50), (2, 120), (3, 300);
"""

# The four questions of the issue, with a query that answers each whole.
WHOLE = {
    "Which shop has the most employees? Give me the shop name.": "SELECT s.Name FROM shop s "
    "JOIN hiring h ON s.Shop_ID = h.Shop_ID GROUP BY s.Shop_ID ORDER BY COUNT(*) DESC LIMIT 1",
    "Which employee received the biggest bonus? Give me the employee name.": "SELECT e.Name "
    "FROM employee e JOIN evaluation v ON e.Employee_ID = v.Employee_ID "
    "ORDER BY v.Bonus DESC LIMIT 1",
    "Which department offers the most number of degrees? List department name and id.": "SELECT "
    "d.department_name, d.department_id FROM Departments d JOIN Degree_Programs p "
    "ON d.department_id = p.department_id GROUP BY d.department_id ORDER BY COUNT(*) DESC LIMIT 1",
    "Which semesters do not have any student enrolled? List the semester name.": "SELECT "
    "semester_name FROM Semesters WHERE semester_id NOT IN "
    "(SELECT semester_id FROM Student_Enrolment)",
}

REFINED = [
    *WHOLE,
    "List the orders. Sort by amount descending.",
    "How many orders are over 100 dollars? List them.",
    "Which model saves the most gasoline? That is to say, have the maximum miles per gallon.",
    "Who is the first student to register? List the first name, middle name and last name.",
    "Find the number of employees hired in each shop; show the shop name as well.",
    "What is 1/3 + 1/4? Give the answer to 3 decimal places.",
]

INDEPENDENT = [
    ("What is 2+2?", "List the orders over 100 dollars."),
    ("What is 2+2?", "Give me the shop name."),
    ("How many orders are there?", "List the orders over 100 dollars."),
    ("How many orders are there?", "List the orders."),
    ("What is 2+2?", "Sort the orders by amount."),
    ("What is 2+2?", "Find the derivative of x^2."),
    ("Which shop has the most employees?", "Show the employees older than 30."),
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "company.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(TABLES)
    conn.close()
    return f"sqlite:///{path}"


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.mark.parametrize("request_text", REFINED)
def test_a_refining_sentence_stays_with_the_one_it_refines(request_text: str) -> None:
    assert group_refinements(split_clauses(request_text)) == [request_text]


@pytest.mark.parametrize("parts", INDEPENDENT)
def test_a_sentence_with_a_subject_of_its_own_is_its_own_subtask(parts: tuple[str, str]) -> None:
    assert group_refinements(split_clauses(" ".join(parts))) == list(parts)


@pytest.mark.parametrize("question", list(WHOLE))
async def test_the_issue_questions_run_whole_and_are_right_or_declined(
    db: str, question: str
) -> None:
    result = await Trifecta(default_specialists(db=db)).arun(question)
    assert {s["instruction"] for s in result.subtasks} == {question}
    expected = sorted(map(repr, _rows(db, WHOLE[question])))
    for subtask in result.subtasks:
        if subtask["status"] in ("checked", "verified"):
            assert subtask["specialist"] == "sql"
            assert sorted(map(repr, map(tuple, subtask["data"]["rows"]))) == expected
        else:
            assert subtask["status"] == "unverifiable"


async def test_an_independent_request_is_still_answered_on_its_own(db: str) -> None:
    result = await Trifecta(default_specialists(db=db)).arun(
        "What is 2+2? How many orders are over 100 dollars?"
    )
    assert [(s["instruction"], s["answer"], s["status"]) for s in result.subtasks] == [
        ("What is 2+2?", "4", "verified"),
        ("How many orders are over 100 dollars?", "2", "checked"),
    ]


async def test_the_model_planner_is_told_the_same_rule() -> None:
    model = scripted([plan(("t1", "math", "What is 2+2?"))])
    await Trifecta(default_specialists(), planner=ModelPlanner(model)).arun("What is 2+2?")
    text = model.calls[0][0].content  # the planner's system message
    assert "Which shop has the most employees? Give me the shop name." in text
    assert "What is 2+2? List the orders over 100 dollars." in text


COLUMNS = {
    "orders": {"order_id": "INTEGER", "amount": "REAL"},
    "shop": {"Shop_ID": "INTEGER", "Name": "TEXT"},
    "Documents": {
        "Document_ID": "INTEGER",
        "Document_Name": "TEXT",
        "Document_Description": "TEXT",
    },
    "Sections": {"section_id": "INTEGER", "section_description": "TEXT", "section_name": "TEXT"},
}
SCHEMA = Schema(
    {
        name: Table(name, tuple(Column(c, t) for c, t in columns.items()))
        for name, columns in COLUMNS.items()
    }
)


@pytest.mark.parametrize(
    "question",
    [
        "How many orders are there? List the orders over 100 dollars.",
        "How many orders are over 100 dollars and list them",
        "Which shop has the most employees? Give me the shop name.",
        "List the shop names. How many orders are there?",
        "What is the total amount of orders? Only list the order ids.",
        "What is the total amount of orders? List the order amounts.",
        "How many orders are over 100 dollars and list the amounts",
    ],
)
def test_the_writer_declines_what_it_would_answer_only_in_part(question: str) -> None:
    assert Writer(SCHEMA).write(question) is None


@pytest.mark.parametrize(
    ("question", "sql"),
    [
        ("Give me the shop name.", 'SELECT "Name" FROM "shop"'),
        (
            "List the order ids and amounts. Sort by amount descending.",
            'SELECT "order_id", "amount" FROM "orders" ORDER BY "amount" DESC',
        ),
        (
            "List document IDs, document names, and document descriptions for all documents.",
            'SELECT "Document_ID", "Document_Name", "Document_Description" FROM "Documents"',
        ),
        (
            "What are the names and descriptions of all the sections?",
            'SELECT "section_name", "section_description" FROM "Sections"',
        ),
    ],
)
def test_the_writer_still_answers_a_whole_question(question: str, sql: str) -> None:
    assert Writer(SCHEMA).write(question) == sql
