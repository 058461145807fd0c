"""A verifier for the reference time MCP server's ``convert_time`` (`mcp-server-time`),
used by `tests/test_mcp_specialists.py` as a user would supply one: it recomputes the
conversion with `zoneinfo`, independently of the server."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from trifecta import Verdict, check_error
from trifecta.specialists import Candidate, Job

__all__ = ["verify_conversion"]


def _rejected(message: str) -> Verdict:
    return Verdict("rejected", "zoneinfo", errors=(check_error("time", message),))


def verify_conversion(job: Job, candidate: Candidate) -> Verdict:
    """Verified when every argument is written in the instruction, the source is the
    asked wall time in the asked zone, and the answer is that instant in the target zone."""
    args = candidate.payload.get("arguments") or {}
    result = candidate.payload.get("structured") or {}
    try:
        time, source_tz, target_tz = args["time"], args["source_timezone"], args["target_timezone"]
        source = datetime.fromisoformat(result["source"]["datetime"])
        zones = ZoneInfo(source_tz), ZoneInfo(target_tz)
    except (KeyError, TypeError, ValueError) as exc:
        return _rejected(f"not a conversion result: {exc!r}")
    missing = [v for v in (time, source_tz, target_tz) if v not in job.instruction]
    if missing:
        return _rejected(f"arguments not in the instruction: {missing}")
    asked = source.replace(tzinfo=zones[0])
    if f"{source:%H:%M}" != time.zfill(5) or source.utcoffset() != asked.utcoffset():
        return _rejected(f"the source {source.isoformat()} is not {time} in {source_tz}")
    expected = asked.astimezone(zones[1]).isoformat(timespec="seconds")
    if candidate.answer != expected:
        return _rejected(
            f"{time} in {source_tz} is {expected} in {target_tz}, not {candidate.answer}"
        )
    return Verdict("verified", "zoneinfo", (f"{time} {source_tz} = {expected} {target_tz}",))
