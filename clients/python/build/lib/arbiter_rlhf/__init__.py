"""Arbiter's Python client: send pairs out for human judgement, read the judgements
back as Hugging Face datasets, and look at the raters' quality — from a notebook.

>>> from arbiter_rlhf import Arbiter
>>> client = Arbiter()                       # $ARBITER_URL, $ARBITER_TOKEN
>>> project = client.projects.create("helpfulness-v2", overlap=3)
>>> project.add_pairs(dataset)               # TRL, HH-RLHF, OpenAI or multi-response rows
>>> ...                                      # people judge in the browser
>>> dpo = project.export("trl", test_fraction=0.1)   # a datasets.DatasetDict
"""

from ._transport import __version__
from .client import Arbiter, NewUser, Projects, Users
from .errors import (
    ArbiterError,
    AuthenticationError,
    Conflict,
    ExportFailed,
    ImportRefused,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from .exports import ExportFiles
from .project import Assignment, Project
from .records import ImportReport, Leaderboard, LeaderboardEntry, Rater, RaterReport

__all__ = [
    "Arbiter",
    "ArbiterError",
    "Assignment",
    "AuthenticationError",
    "Conflict",
    "ExportFailed",
    "ExportFiles",
    "ImportRefused",
    "ImportReport",
    "InvalidRequest",
    "Leaderboard",
    "LeaderboardEntry",
    "NewUser",
    "NotFound",
    "PermissionDenied",
    "Project",
    "Projects",
    "Rater",
    "RaterReport",
    "Unavailable",
    "Users",
    "__version__",
]
