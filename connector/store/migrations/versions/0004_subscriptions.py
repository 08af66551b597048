"""subscriptions: the platform subscriptions feeding the receivers (Graph), for renewal

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "video_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=1024), nullable=False),
        sa.Column("change_type", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("client_state_ref", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needs_resync", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_subscriptions")),
        sa.UniqueConstraint(
            "platform", "external_id", name=op.f("uq_video_subscriptions_platform")
        ),
    )
    with op.batch_alter_table("video_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_subscriptions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("video_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_subscriptions_expires_at"))
    op.drop_table("video_subscriptions")
