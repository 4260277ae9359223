"""The end user's id a client sent with the request (OpenAI's `user`), nullable.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from genproto.limits import MAX_USER_CHARS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the user column; rows kept before it have none."""
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("user", sa.String(MAX_USER_CHARS), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("images") as batch:
        batch.drop_column("user")
