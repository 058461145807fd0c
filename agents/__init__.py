"""Generalist agents: the planner and the merger."""

from trifecta.agents.merger import MergeInput, Merger, ModelMerger, TemplateMerger, flagged
from trifecta.agents.planner import (
    PLAN_SCHEMA,
    ModelPlanner,
    Planner,
    PlanRequest,
    RulePlanner,
    group_refinements,
    split_clauses,
)

__all__ = [
    "PLAN_SCHEMA",
    "MergeInput",
    "Merger",
    "ModelMerger",
    "ModelPlanner",
    "PlanRequest",
    "Planner",
    "RulePlanner",
    "TemplateMerger",
    "flagged",
    "group_refinements",
    "split_clauses",
]
