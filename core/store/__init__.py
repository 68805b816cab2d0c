"""Opening a project: a SQLite file by default, any SQLAlchemy URL for a team.

Opening runs the alembic migrations shipped in this package, so a project made
by an older nhiplan opens in a newer one. `create=False` refuses a path that is
not a project yet, so a typo never silently creates an empty project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import BadInput
from ..model import ProjectInfo

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class Store:
    """An open project: its engine and a session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def session(self) -> Session:
        return self.sessions()

    def info(self) -> dict[str, str]:
        with self.session() as s:
            return {row.key: row.value for row in s.scalars(select(ProjectInfo))}

    def close(self) -> None:
        self.engine.dispose()


def _is_url(target: str) -> bool:
    return "://" in target


def _url_for(target: str | Path) -> str:
    text = str(target)
    if _is_url(text):
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # A project file is written by one user at a time; NORMAL keeps commits fast
    # while the rollback journal still makes each import atomic.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it is there)."""
    if current_revision(engine) != head_revision():
        command.upgrade(_alembic_config(engine), "head")


def _check_sqlite_file(path: Path, create: bool) -> None:
    if path.exists():
        if path.is_dir():
            raise BadInput(str(path), "is a folder, not a project file")
        with path.open("rb") as fh:
            head = fh.read(16)
        if head and head != SQLITE_MAGIC:
            raise BadInput(str(path), "is not an nhiplan project (not a SQLite database)")
        if not head and not create:
            raise BadInput(str(path), "is an empty file, not an nhiplan project")
    elif not create:
        raise BadInput(str(path), "no such project (create one with 'nhiplan init')")
    elif not path.parent.exists():
        raise BadInput(str(path), f"folder {path.parent} does not exist")


def open_store(target: str | Path, *, create: bool = False, name: str | None = None,
               client: str | None = None) -> Store:
    """Open (and migrate) a project; with create=True make it first if needed."""
    text = str(target)
    if not _is_url(text):
        _check_sqlite_file(Path(text).expanduser(), create)
    url = _url_for(text)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        existing_tables = set(inspect(engine).get_table_names())
        if not create and "project_info" not in existing_tables:
            raise BadInput(text, "is not an nhiplan project (no project tables)")
        migrate(engine)
    except (OperationalError, DatabaseError) as exc:
        engine.dispose()
        raise BadInput(text, f"cannot open project: {exc.orig}") from None
    except BadInput:
        engine.dispose()
        raise
    store = Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    if create:
        with store.session() as s, s.begin():
            have = {row.key for row in s.scalars(select(ProjectInfo))}
            defaults = {
                "name": name or (Path(text).stem if not _is_url(text) else "project"),
                "client": client or "",
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "format": "nhiplan-project",
            }
            for key, value in defaults.items():
                if key not in have:
                    s.add(ProjectInfo(key=key, value=value))
                elif key in ("name", "client") and value and (key != "name" or name):
                    s.get(ProjectInfo, key).value = value
    return store
