"""The images table.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the images table and its indexes."""
    op.create_table(
        "images",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("positive_prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("guidance_scale", sa.Float(), nullable=False),
        sa.Column("sampler", sa.String(64), nullable=False),
        sa.Column("schedule_type", sa.String(64), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("model_hash", sa.String(64), nullable=True),
        sa.Column("demo_model", sa.Boolean(), nullable=False),
        sa.Column("loras", sa.JSON(), nullable=False),
        sa.Column("init_image", sa.Boolean(), nullable=False),
        sa.Column("denoising_strength", sa.Float(), nullable=True),
        sa.Column("mask_blur", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("generation_seconds", sa.Float(), nullable=False),
        sa.Column("total_seconds", sa.Float(), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("infotext", sa.Text(), nullable=False),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("image_index", sa.Integer(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
    )
    op.create_index("ix_images_owner_created", "images", ["owner", "created_us", "id"])
    op.create_index("ix_images_sha256", "images", ["sha256"])
    op.create_index("ix_images_retention", "images", ["starred", "created_us"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("images")
