"""accounts: staff users, sign-in failures for throttling, who marked a local item done

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures") as batch_op:
        batch_op.create_index("ix_sign_in_failures_username", ["username", "at"], unique=False)
        batch_op.create_index("ix_sign_in_failures_address", ["address", "at"], unique=False)
    with op.batch_alter_table("local_items") as batch_op:
        batch_op.add_column(sa.Column("done_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("local_items") as batch_op:
        batch_op.drop_column("done_by")
    with op.batch_alter_table("sign_in_failures") as batch_op:
        batch_op.drop_index("ix_sign_in_failures_address")
        batch_op.drop_index("ix_sign_in_failures_username")
    op.drop_table("sign_in_failures")
    op.drop_table("users")
