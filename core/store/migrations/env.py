"""Alembic environment: migrations run in code, on the engine the store opened."""

from alembic import context

from nhiplan.core.model import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        # render_as_batch lets ALTER TABLE work on SQLite (it rebuilds the table).
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        context.run_migrations()


run_migrations_online()
