"""Alembic's entry point: migrate the connection api/gallery/database.py hands over (or alembic.ini's URL)."""

from alembic import context
from sqlalchemy import create_engine

from api.gallery.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:  # `alembic -c api/gallery/alembic.ini revision --autogenerate` by a developer
    with create_engine(config.get_main_option("sqlalchemy.url") or "").connect() as own:
        context.configure(connection=own, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
