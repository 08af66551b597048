"""wider meeting ids: a Teams meeting is known by its join URL, which can pass 255 characters

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("meetings", "external_id"), ("meeting_links", "external_meeting_id"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                column,
                type_=sa.String(length=1024),
                existing_type=sa.String(length=255),
                existing_nullable=False,
            )


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                column,
                type_=sa.String(length=255),
                existing_type=sa.String(length=1024),
                existing_nullable=False,
            )
