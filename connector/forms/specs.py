"""How each form looks: its title, introduction and fields, as a table read top to bottom.

To add a form: a schema in `schemas.py`, a row in `FORMS` here, a handler in `save.py`.
Field names are the schema's; `form.html` renders every kind below accessibly.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from connector.forms import schemas


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | textarea | email | tel | date | time | number | radio | checkbox
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for radio
    required: bool = True
    autocomplete: str = ""


@dataclass(frozen=True)
class FormSpec:
    slug: str
    title: str
    intro: str
    fields: tuple[Field, ...]
    schema: type[Schema]
    submit: str = "Send"
    done: str = "Thank you. We have received your answers."


NAME = Field("name", "Full name", autocomplete="name")
EMAIL = Field("email", "Email address", "email", autocomplete="email")
PHONE = Field("phone", "Phone number", "tel", "Optional.", required=False, autocomplete="tel")

FORMS: dict[str, FormSpec] = {
    "apply-mentor": FormSpec(
        "apply-mentor",
        "Apply to be a mentor",
        "Tell us about yourself. We will check your references and invite you to an interview "
        "before you are matched with a mentee.",
        (
            NAME,
            EMAIL,
            PHONE,
            Field("background", "Professional background", "textarea", "Your work and roles."),
            Field("expertise", "Areas of expertise", "textarea"),
            Field("availability", "Availability", "textarea", "For example: two evenings a month."),
            Field("reference1_name", "First reference: name"),
            Field("reference1_contact", "First reference: email or phone"),
            Field("reference2_name", "Second reference: name"),
            Field("reference2_contact", "Second reference: email or phone"),
        ),
        schemas.MentorApplicationSchema,
        "Send application",
        "Thank you for applying. A coordinator will review your application and contact you.",
    ),
    "apply-mentee": FormSpec(
        "apply-mentee",
        "Apply for a mentor",
        "Tell us what you would like from mentoring, and we will look for a good match.",
        (
            NAME,
            EMAIL,
            PHONE,
            Field("goals", "What you hope to get from mentoring", "textarea"),
        ),
        schemas.MenteeApplicationSchema,
        "Send application",
        "Thank you for applying. A coordinator will review your application and contact you.",
    ),
    "consent": FormSpec(
        "consent",
        "Recording consent",
        "Sessions on video platforms may be recorded only when both of you agree. "
        "You can change your answer at any time with this link.",
        (
            Field(
                "consent",
                "Do you agree that your mentoring sessions may be recorded?",
                "radio",
                options=(("give", "Yes, I consent"), ("revoke", "No, I do not consent")),
            ),
        ),
        schemas.ConsentFormSchema,
        "Save my answer",
        "Your answer is saved.",
    ),
    "goals": FormSpec(
        "goals",
        "Goals and expectations",
        "Agree on what you want to achieve together. Fill this in after your introductory session.",
        (
            Field("goals", "Your goals for the mentorship", "textarea"),
            Field("expectations", "What you expect from each other", "textarea"),
            Field(
                "meeting_preferences",
                "Meeting preferences",
                "textarea",
                "Optional. How often and how you would like to meet.",
                required=False,
            ),
        ),
        schemas.GoalsSchema,
    ),
    "feedback": FormSpec(
        "feedback",
        "How are your sessions going?",
        "A few questions after your first sessions. Your answers help the program support you.",
        (
            Field(
                "rating",
                "How are the sessions going overall?",
                "radio",
                options=(
                    ("5", "Very well"),
                    ("4", "Well"),
                    ("3", "Neither well nor badly"),
                    ("2", "Badly"),
                    ("1", "Very badly"),
                ),
            ),
            Field("going_well", "What is going well?", "textarea"),
            Field("improve", "What could be better?", "textarea", "Optional.", required=False),
        ),
        schemas.FeedbackSchema,
    ),
    "closing": FormSpec(
        "closing",
        "Closing reflection",
        "Your mentorship is coming to an end. Look back on it and tell us about the program.",
        (
            Field(
                "achieved",
                "Did you reach the goals you set?",
                "radio",
                options=(("yes", "Yes"), ("partly", "Partly"), ("no", "No")),
            ),
            Field("reflection", "Your reflection on the mentorship", "textarea"),
            Field("program_feedback", "Your feedback on the program", "textarea"),
            Field(
                "recommend",
                "Would you recommend the program to others?",
                "radio",
                options=(("yes", "Yes"), ("no", "No")),
            ),
        ),
        schemas.ClosingSchema,
    ),
    "session": FormSpec(
        "session",
        "Log a session held in person",
        "Sessions on video platforms are logged by themselves; log here the ones you held in "
        "person.",
        (
            Field("date", "Date of the session", "date"),
            Field("start_time", "Start time", "time", "In the program's time zone."),
            Field("duration_minutes", "Duration in minutes", "number"),
        ),
        schemas.SessionFormSchema,
        "Log session",
        "The session is logged.",
    ),
    "concern": FormSpec(
        "concern",
        "Report a concern",
        "Tell us about anything that worries you about a mentoring relationship. Only the "
        "safeguarding lead reads reports. If someone is in immediate danger, call the emergency "
        "services first.",
        (
            Field("body", "What happened?", "textarea", "Who, what, when and where, if you can."),
            Field(
                "anonymous",
                "Report anonymously (we will not record who you are)",
                "checkbox",
                required=False,
            ),
            Field(
                "contact",
                "How we can reach you",
                "text",
                "Optional. Leave empty to stay anonymous.",
                required=False,
            ),
        ),
        schemas.ConcernFormSchema,
        "Send report",
    ),
}
