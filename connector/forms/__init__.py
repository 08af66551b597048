"""The forms mentors, mentees and applicants fill in, under /forms (see `views`).

Modules: `schemas` (what each form accepts), `specs` (how each looks), `save` (how each is
stored, through the API's own functions), `views` (the blueprint).
"""

from __future__ import annotations

from connector.forms.views import bp

__all__ = ["bp"]
