"""What each form accepts: marshmallow schemas with one plain-language message per field.

Browsers send every text box, filled in or not; `FormSchema` strips text and drops empty
values first, so a required field left blank gets its own "Enter …" message.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

NONCE = r"^[A-Za-z0-9_-]{16,64}$"


def text(label: str, *, required: bool = True, max_length: int = 5000) -> fields.String:
    """A text field; `label` words its messages ("Enter your goals")."""
    extra: dict[str, Any] = {} if required else {"load_default": None}
    return fields.String(
        required=required,
        validate=validate.Length(
            max=max_length, error=f"{label} must be {max_length} characters or fewer"
        ),
        error_messages={"required": f"Enter {label.lower()}"},
        **extra,
    )


def choice(label: str, options: tuple[str, ...]) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(options, error=f"Choose {label.lower()}"),
        error_messages={"required": f"Choose {label.lower()}"},
    )


class FormSchema(Schema):
    """Base of every form: the one-time nonce that makes a double submit count once."""

    nonce = fields.String(
        required=True,
        validate=validate.Regexp(NONCE, error="The form is damaged; reload the page"),
        error_messages={"required": "The form is damaged; reload the page"},
    )

    class Meta:
        unknown = "exclude"  # the CSRF token and the submit button

    @pre_load
    def _blank_is_missing(self, data: Any, **_: Any) -> dict[str, Any]:
        out = {}
        for key, value in dict(data).items():
            value = value.strip() if isinstance(value, str) else value
            if value not in ("", None):
                out[key] = value
        return out


class ApplicantSchema(FormSchema):
    name = text("Your full name", max_length=255)
    email = fields.Email(
        required=True,
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address like name@example.org",
        },
    )
    phone = text("Your phone number", required=False, max_length=64)


class MentorApplicationSchema(ApplicantSchema):
    background = text("Your professional background")
    expertise = text("Your areas of expertise")
    availability = text("Your availability", max_length=1000)
    reference1_name = text("The first reference's name", max_length=255)
    reference1_contact = text("The first reference's email or phone", max_length=255)
    reference2_name = text("The second reference's name", max_length=255)
    reference2_contact = text("The second reference's email or phone", max_length=255)

    @validates_schema(skip_on_field_errors=False)  # every problem at once
    def _two_references(self, data: dict[str, Any], **_: Any) -> None:
        one, two = data.get("reference1_contact"), data.get("reference2_contact")
        if one and two and one.lower() == two.lower():
            raise ValidationError("Give two different references", "reference2_contact")


class MenteeApplicationSchema(ApplicantSchema):
    goals = text("What you hope to get from mentoring")


class ConsentFormSchema(FormSchema):
    consent = choice("whether you consent", ("give", "revoke"))


class GoalsSchema(FormSchema):
    goals = text("Your goals for the mentorship")
    expectations = text("What you expect from each other")
    meeting_preferences = text("Meeting preferences", required=False, max_length=1000)


class FeedbackSchema(FormSchema):
    rating = choice("how the sessions are going", ("1", "2", "3", "4", "5"))
    going_well = text("What is going well")
    improve = text("What could be better", required=False)


class ClosingSchema(FormSchema):
    achieved = choice("whether you reached your goals", ("yes", "partly", "no"))
    reflection = text("Your reflection on the mentorship")
    program_feedback = text("Your feedback on the program")
    recommend = choice("whether you would recommend the program", ("yes", "no"))


class SessionFormSchema(FormSchema):
    date = fields.Date(
        required=True,
        error_messages={"required": "Enter the date", "invalid": "Enter a real date"},
    )
    start_time = fields.Time(
        required=True,
        error_messages={"required": "Enter the start time", "invalid": "Enter a time like 14:30"},
    )
    duration_minutes = fields.Integer(
        required=True,
        validate=validate.Range(5, 480, error="Enter a duration between 5 and 480 minutes"),
        error_messages={
            "required": "Enter how long the session lasted",
            "invalid": "Enter the duration as a number of minutes",
        },
    )


class ConcernFormSchema(FormSchema):
    body = text("What happened", max_length=20_000)
    anonymous = fields.Boolean(load_default=False)
    contact = text("How we can reach you", required=False, max_length=500)


def errors_of(exc: ValidationError) -> dict[str, list[str]]:
    """Field -> messages, flattened for the error summary (nested messages joined)."""
    out: dict[str, list[str]] = {}
    messages = exc.messages if isinstance(exc.messages, dict) else {"_form": exc.messages}
    for key, value in messages.items():
        items = value if isinstance(value, list) else [str(value)]
        out[str(key)] = [str(m) for m in items]
    return out
