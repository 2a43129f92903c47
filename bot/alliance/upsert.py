"""Set-based synchronisation of a table with what an alliance file wants.

One SELECT streams the table's current rows past, a chunk at a time, and the differences are
found in Python by key; then UPDATEs and DELETEs go out as Core executemany statements in
chunks, and INSERTs likewise (COPY on PostgreSQL). No ORM object is made per row, and what the
file wants is computed row by row as it is needed, so 100,000 members load in seconds and in
bounded memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import models as m

T = TypeVar("T")
CHUNK = 5_000
"""Rows a statement carries: enough to amortise the round trip, few enough to keep the
parameter lists small."""


class Tally(Protocol):
    """Where a sync reports what changed, as ``"<label> <key>"`` entries."""

    added: list[str]
    changed: list[str]
    deactivated: list[str]


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


class Computed(Mapping[str, Mapping[Any, Any]]):
    """Each key's wanted values, computed when asked: 100,000 members never all exist as
    dictionaries at once."""

    def __init__(self, items: Mapping[str, T], values: Callable[[T], Mapping[Any, Any]]) -> None:
        self._items = items
        self._values = values

    def __getitem__(self, key: str) -> Mapping[Any, Any]:
        return self._values(self._items[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class Sync:
    """Makes tables match the file, one statement per chunk, and tallies what changed."""

    def __init__(self, session: AsyncSession, tally: Tally) -> None:
        self.session = session
        self.tally = tally

    async def _many(self, statement: Any, rows: Iterable[dict[str, Any]]) -> None:
        for chunk in chunks(rows):
            await self.session.execute(statement, chunk)

    async def _insert(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        """INSERT in chunks; on PostgreSQL through asyncpg, COPY (a third of the time: no SQL
        to build or parse for each thousand rows). Columns the rows leave out get their
        defaults here, as an INSERT would give them."""
        conn = await self.session.connection()
        raw: Any = (await conn.get_raw_connection()).driver_connection
        if conn.dialect.driver != "asyncpg" or not raw.is_in_transaction():
            await self._many(insert(table), rows)  # COPY alone would commit on its own
            return
        for chunk in chunks(rows):
            names, records = _records(table, chunk, conn.dialect)
            await raw.copy_records_to_table(table.name, records=records, columns=names)

    async def _read(self, statement: Any) -> AsyncIterator[Any]:
        """The rows of ``statement``, fetched a chunk at a time."""
        result = await self.session.stream(statement.execution_options(yield_per=CHUNK))
        async for rows in result.partitions():  # one wait per chunk, not one per row
            for row in rows:
                yield row

    async def rows(
        self,
        model: type[m.Base],
        key_attr: str,
        label: str,
        wanted: Mapping[str, Mapping[str, Any]],
        *,
        deactivate: bool = True,
    ) -> dict[str, Any]:
        """Add what is new, update what differs, deactivate (never delete) what the file no
        longer lists; returns each key's primary key. The current rows stream past a chunk
        at a time: only their keys and ids are kept."""
        table = _table(model)
        names = list(next(iter(wanted.values()), {}))
        if deactivate and "active" not in names:
            names.append("active")
        active = 2 + names.index("active") if deactivate else 0
        ids: dict[str, Any] = {}
        differ: list[tuple[Any, str]] = []
        gone: list[tuple[str, Any]] = []
        columns = [table.c.id, table.c[key_attr], *(table.c[n] for n in names)]
        async for row in self._read(select(*columns)):
            pk, key = row[0], row[1]
            ids[key] = pk
            if key in wanted:
                values = wanted[key]
                if any(row[2 + i] != values[n] for i, n in enumerate(names) if n in values):
                    differ.append((pk, key))
            elif active and row[active]:
                gone.append((key, pk))
        new = [key for key in wanted if key not in ids]
        await self._insert(table, ({key_attr: key, **wanted[key]} for key in new))
        self.tally.added.extend(f"{label} {key}" for key in new)
        if differ:
            fields = [n for n in names if n in wanted[differ[0][1]]]
            statement = (
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({n: bindparam(f"new_{n}") for n in fields})
            )
            await self._many(
                statement,
                (
                    {"row_id": pk, **{f"new_{n}": v for n, v in wanted[key].items()}}
                    for pk, key in differ
                ),
            )
            self.tally.changed.extend(f"{label} {key}" for _, key in differ)
        if gone:
            statement = update(table).where(table.c.id == bindparam("row_id")).values(active=False)
            await self._many(statement, ({"row_id": pk} for _, pk in gone))
            self.tally.deactivated.extend(f"{label} {key}" for key, _ in gone)
        if new:
            ids = {key: pk async for key, pk in self._read(select(table.c[key_attr], table.c.id))}
        return ids

    async def children(
        self,
        model: type[m.Base],
        label: str,
        names: tuple[str, str, str],
        parents: Mapping[str, Any],
        wanted: Mapping[str, Mapping[Any, Any]],
    ) -> None:
        """Make the child rows of each parent (identities, addresses, targets) match
        ``wanted``. ``names`` are the child's parent column, key column and value column. A
        child whose value changes is deleted and added again, so unique values can move from
        one parent to another. The current rows stream past by parent: only the parents whose
        children all match, and the children of the others, are kept."""
        table = _table(model)
        parent_col, key_col, value_col = names
        by_id = {pk: key for key, pk in parents.items()}
        clean: set[Any] = set()  # parents whose children match the file
        kept: dict[Any, dict[Any, Any]] = {}  # other parents: the children that stay
        stale: list[dict[str, Any]] = []
        changed: set[Any] = set()

        def settle(parent: Any, have: list[tuple[Any, Any, Any]]) -> None:
            name = by_id.get(parent)
            children = wanted.get(name, {}) if name is not None else {}
            if len(have) == len(children) and all(children.get(k) == v for _, k, v in have):
                clean.add(parent)
                return
            kept[parent] = {k: v for _, k, v in have if children.get(k) == v}
            stale.extend({"row_id": pk} for pk, k, v in have if children.get(k) != v)
            changed.add(parent)

        group: list[tuple[Any, Any, Any]] = []
        last: Any = None
        statement = select(
            table.c[parent_col], table.c.id, table.c[key_col], table.c[value_col]
        ).order_by(table.c[parent_col])
        async for parent, pk, key, value in self._read(statement):
            if parent != last and group:
                settle(last, group)
                group = []
            last = parent
            group.append((pk, key, value))
        if group:
            settle(last, group)
        await self._many(delete(table).where(table.c.id == bindparam("row_id")), stale)

        def fresh() -> Iterator[dict[str, Any]]:
            for name, children in wanted.items():
                parent = parents[name]
                if parent in clean:
                    continue
                have = kept.get(parent, {})
                for key, value in children.items():
                    if key not in have:
                        changed.add(parent)
                        yield {parent_col: parent, key_col: key, value_col: value}

        await self._insert(table, fresh())
        reported = {*self.tally.added, *self.tally.changed, *self.tally.deactivated}
        for name in sorted(by_id[pk] for pk in changed):
            entry = f"{label} {name}"
            if entry not in reported:
                self.tally.changed.append(entry)


def _records(
    table: Table, chunk: list[dict[str, Any]], dialect: Any
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and value tuples COPY takes: as an INSERT would bind them, with the
    columns the rows leave out at their defaults."""
    given = list(chunk[0])
    defaulted = [c for c in table.c if c.name not in given and c.default is not None]
    defaults = [_default(c) for c in defaulted]
    names = given + [c.name for c in defaulted]
    binds = [table.c[n].type._cached_bind_processor(dialect) for n in names]
    records = []
    for row in chunk:
        values = [*(row[n] for n in given), *defaults]
        records.append(tuple(b(v) if b else v for b, v in zip(binds, values, strict=True)))
    return names, records


def _default(column: Any) -> Any:
    """The Python-side default of ``column`` (a value, or what its function returns)."""
    default = column.default
    return default.arg(None) if default.is_callable else default.arg
