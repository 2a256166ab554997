"""Store links and resolve them, set-based, inside the caller's transaction.

Ingest calls `LinkStore.after_write` once per batch, on its psycopg connection, after
the batch's signals are stored (`sg.links` runs the same steps on a SQLAlchemy
connection: the statements go through `signalgraph.db.driver`). With no links in the
batch and nothing waiting for the batch's source, that is one probe of two partial
indexes. Otherwise each step is one statement for the batch:

0. an updated signal's record links that its new version no longer names are removed;
1. the batch's links are inserted (ON CONFLICT DO NOTHING: the same link again is nothing);
2. (a) links waiting for a key the batch stored resolve to it;
3. (b) key links from the batch's signals whose target exists resolve to it;
4. (c) reference texts: links from the batch are compared with the stored signals of
   their source (by date when they have one), links already waiting with the batch's
   signals; one match resolves, several make the link ambiguous (all kept);
5. flags: `dangling_link` / `ambiguous_link` raised for links left waiting, and closed
   when their link resolves or goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from signalgraph.db import driver
from signalgraph.db.driver import AnyConnection
from signalgraph.ids import uuid7
from signalgraph.links import queries as sql
from signalgraph.links.spec import LinkSpec, title_words


def needs_lookup(record: Any) -> bool:
    """Return whether a record's links name a source or signal id the writer must check."""
    return any(
        spec.source is not None or spec.signal_id is not None
        for spec in getattr(record, "links", ())
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class NewLink:
    """A link to insert: from which signal, what, and its target key when it has one."""

    from_signal_id: uuid.UUID
    spec: LinkSpec
    target_source_id: uuid.UUID | None = None
    target_external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A signal a reference text could mean."""

    id: uuid.UUID
    title: str | None
    day: date


class CandidateIndex:
    """Signals by (day, title word) and by title word: a reference's matches by intersection.

    The same rule as `reference_matches` (every reference word among the title's words,
    and the published day when the reference has a date), without comparing every pair.
    """

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._by_day_word: dict[tuple[date, str], set[uuid.UUID]] = {}
        self._by_word: dict[str, set[uuid.UUID]] = {}
        for candidate in candidates:
            for word in title_words(candidate.title):
                self._by_day_word.setdefault((candidate.day, word), set()).add(candidate.id)
                self._by_word.setdefault(word, set()).add(candidate.id)

    def matches(self, words: Sequence[str], day: date | None) -> set[uuid.UUID]:
        """Return the candidates whose title holds every word (published on `day`, if given)."""
        if not words:
            return set()
        empty: set[uuid.UUID] = set()
        found = [
            (self._by_day_word.get((day, w), empty) if day else self._by_word.get(w, empty))
            for w in words
        ]
        found.sort(key=len)
        return set(found[0]).intersection(*found[1:])


class LinkStore:
    """Links of one workspace, written for one source (a run's, or the linking signal's)."""

    def __init__(
        self,
        conn: AnyConnection,
        *,
        workspace_id: uuid.UUID,
        source_id: uuid.UUID,
        run_id: uuid.UUID | None = None,
        origin: str = "record",
    ) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.source_id = source_id
        self.run_id = run_id
        self.origin = origin
        self._sources: dict[str, uuid.UUID] = {}
        self._signal_keys: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {"ws": self.workspace_id, "src": self.source_id, "run": self.run_id, **extra}

    # -- targets ---------------------------------------------------------------------

    def check_targets(self, rows: Sequence[Any]) -> list[tuple[Any, str, str]]:
        """Look up the sources and signal ids links name; return (row, field, reason) refusals."""
        wanted = [row for row in rows if needs_lookup(row.record)]
        if not wanted:
            return []
        names = {s.source for row in wanted for s in row.record.links if s.source is not None}
        ids = {s.signal_id for row in wanted for s in row.record.links if s.signal_id}
        for what, value, source_id, external_id in driver.rows(
            self.conn,
            sql.TARGET_LOOKUP,
            self._params(sources=_json(sorted(names)), signals=_json(sorted(map(str, ids)))),
        ):
            if what == "source":
                self._sources[value] = source_id
            else:
                self._signal_keys[uuid.UUID(value)] = (source_id, external_id)
        refused = []
        for row in wanted:
            for index, spec in enumerate(row.record.links):
                problem = self._target_problem(spec, own_external_id=row.record.external_id)
                if problem is not None:
                    refused.append((row, f"links[{index}].to.{problem[0]}", problem[1]))
                    break
        return refused

    def _target_problem(self, spec: LinkSpec, *, own_external_id: str) -> tuple[str, str] | None:
        if spec.source is not None and spec.source not in self._sources:
            return "source", f"source {spec.source!r} does not exist in this workspace"
        if spec.signal_id is not None and spec.signal_id not in self._signal_keys:
            return "signal_id", f"signal {spec.signal_id} does not exist in this workspace"
        if self.target_of(spec) == (self.source_id, own_external_id):
            return (
                "signal_id" if spec.signal_id else "external_id"
            ), "a signal cannot link to itself"
        return None

    def target_of(self, spec: LinkSpec) -> tuple[uuid.UUID | None, str | None]:
        """Return the (source id, external id) a key link names (None, None for a reference)."""
        if spec.signal_id is not None:
            return self._signal_keys[spec.signal_id]
        if spec.external_id is None:
            return None, None
        source_id = self._sources[spec.source] if spec.source is not None else self.source_id
        return source_id, spec.external_id

    def remember(
        self,
        *,
        sources: dict[str, uuid.UUID] | None = None,
        signal_keys: dict[uuid.UUID, tuple[uuid.UUID, str]] | None = None,
    ) -> None:
        """Record sources and signal keys already looked up (the Python API does its own)."""
        self._sources.update(sources or {})
        self._signal_keys.update(signal_keys or {})

    # -- the batch hook --------------------------------------------------------------

    def after_write(self, rows: Sequence[Any]) -> dict[str, int]:
        """Store the links of the batch's written rows and resolve what the batch allows."""
        written = [row for row in rows if row.status in {"new", "updated"}]
        if not written:
            return {}
        (waiting_key, waiting_reference), *_ = driver.rows(self.conn, sql.PROBE, self._params())
        new_links = [
            NewLink(row.id, spec, *self.target_of(spec))
            for row in written
            for spec in row.record.links
        ]
        updated = [str(row.id) for row in written if row.status == "updated"]
        if not new_links and not waiting_key and not waiting_reference and not updated:
            return {}
        touched: set[uuid.UUID] = set()
        payload = _json([_payload(link) for link in new_links])
        if updated and self._exists(sql.HAS_RECORD_LINKS, ids=_json(updated)):
            touched |= self._ids(sql.REPLACE, ids=_json(updated), links=payload)
        inserted = self._ids(sql.INSERT, links=payload, origin=self.origin) if new_links else set()
        touched |= inserted
        resolved: set[uuid.UUID] = set()
        if waiting_key:
            keys = _json([row.record.external_id for row in written])
            resolved |= self._ids(sql.RESOLVE_WAITING_KEYS, keys=keys)
        key_linking = {
            str(link.from_signal_id) for link in new_links if link.spec.reference is None
        }
        if key_linking:
            resolved |= self._ids(sql.RESOLVE_KEYS_FROM, ids=_json(sorted(key_linking)))
        fresh = {link.from_signal_id for link in new_links if link.spec.reference is not None}
        if fresh or waiting_reference:
            batch = [
                Candidate(row.id, row.record.title, _day(row.record.published_at))
                for row in written
                if row.duplicate_of is None
            ]
            matched = self.resolve_references(fresh, batch)
            touched |= set(matched)
            resolved |= {i for i, status in matched.items() if status == "resolved"}
        touched |= resolved
        self.sync_flags(touched, new=inserted)
        counts = {"links": len(inserted), "links_resolved": len(resolved)}
        return {name: value for name, value in counts.items() if value}

    # -- steps -----------------------------------------------------------------------

    def _exists(self, statement: str, **params: Any) -> bool:
        ((found,),) = driver.rows(self.conn, statement, self._params(**params))
        return bool(found)

    def _ids(self, statement: str, **params: Any) -> set[uuid.UUID]:
        return {row[0] for row in driver.rows(self.conn, statement, self._params(**params))}

    def insert(self, links: Sequence[NewLink]) -> set[uuid.UUID]:
        """Insert links (the same link again is skipped); return the ids inserted."""
        if not links:
            return set()
        payload = _json([_payload(link) for link in links])
        return self._ids(sql.INSERT, links=payload, origin=self.origin)

    def resolve_keys_from(self, signal_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Resolve the waiting key links from these signals whose target is stored."""
        ids = _json(sorted(str(i) for i in signal_ids))
        return self._ids(sql.RESOLVE_KEYS_FROM, ids=ids)

    def recheck_keys(self) -> set[uuid.UUID]:
        """Resolve every waiting key link of the workspace whose target is stored; flag sync."""
        resolved = self._ids(sql.RECHECK_KEYS)
        self.sync_flags(resolved)
        return resolved

    def recheck(self) -> dict[str, int]:
        """Match every waiting link of the workspace again, keys and reference texts."""
        resolved = self.recheck_keys()
        changed: dict[uuid.UUID, str] = {}
        waiting = driver.rows(self.conn, sql.SOURCES_WAITING_FOR_REFERENCES, self._params())
        for source_id, signal_ids in waiting:
            store = LinkStore(self.conn, workspace_id=self.workspace_id, source_id=source_id)
            changed |= store.resolve_references(set(signal_ids), [])
        self.sync_flags(set(changed))
        resolved |= {link for link, status in changed.items() if status == "resolved"}
        ambiguous = sum(1 for status in changed.values() if status == "ambiguous")
        return {"resolved": len(resolved), "ambiguous": ambiguous}

    def resolve_references(
        self, fresh: set[uuid.UUID], batch: Sequence[Candidate]
    ) -> dict[uuid.UUID, str]:
        """Match waiting reference links: fresh ones with stored signals, others with the batch.

        Return the links that changed, with their new status (resolved or ambiguous).
        """
        days = sorted({str(candidate.day) for candidate in batch})
        waiting = driver.rows(
            self.conn,
            sql.WAITING_REFERENCES,
            self._params(days=_json(days), fresh=_json(sorted(map(str, fresh)))),
        )
        if not waiting:
            return {}
        stored = CandidateIndex(())
        fresh_links = [link for link in waiting if link[1] in fresh]
        if fresh_links:
            if any(link[3] is None for link in fresh_links):
                found = driver.rows(self.conn, sql.CANDIDATES_OF_SOURCE, self._params())
            else:
                wanted = sorted({str(link[3]) for link in fresh_links})
                found = driver.rows(
                    self.conn, sql.CANDIDATES_ON_DAYS, self._params(days=_json(wanted))
                )
            stored = CandidateIndex(
                Candidate(i, title, _day(published)) for i, title, published in found
            )
        arrived = CandidateIndex(batch)
        changes = []
        for link_id, from_signal_id, words, day, known in waiting:
            pool = stored if from_signal_id in fresh else arrived
            matches = pool.matches(words or (), day) - {from_signal_id}
            everything = set(known) | matches
            if everything == set(known):
                continue
            ordered = sorted(everything, key=str)
            status = "resolved" if len(ordered) == 1 else "ambiguous"
            changes.append(
                {
                    "id": str(link_id),
                    "status": status,
                    "target": str(ordered[0]) if status == "resolved" else None,
                    "candidates": [] if status == "resolved" else [str(i) for i in ordered],
                }
            )
        if not changes:
            return {}
        params = self._params(matches=_json(changes))
        return {row[0]: row[1] for row in driver.rows(self.conn, sql.SET_REFERENCE_MATCHES, params)}

    def sync_flags(self, link_ids: set[uuid.UUID], *, new: set[uuid.UUID] | None = None) -> None:
        """Close link flags that no longer hold, raise the ones missing, for these links."""
        sync_link_flags(self.conn, self.workspace_id, link_ids, run_id=self.run_id, new=new)


def sync_link_flags(
    conn: AnyConnection,
    workspace_id: uuid.UUID,
    link_ids: set[uuid.UUID],
    *,
    run_id: uuid.UUID | None = None,
    new: set[uuid.UUID] | None = None,
) -> None:
    """Close the flags of these links that no longer hold; raise the ones missing.

    Links in `new` were inserted by this transaction and cannot have a flag yet.
    """
    fresh = (new or set()) & link_ids
    older = link_ids - fresh
    params: dict[str, Any] = {"ws": workspace_id, "run": run_id}
    if older:
        params["ids"] = _json(sorted(map(str, older)))
        driver.execute(conn, sql.CLOSE_FLAGS, params)
        driver.execute(conn, sql.RAISE_MISSING_FLAGS, params)
    if fresh:
        params["ids"] = _json(sorted(map(str, fresh)))
        driver.execute(conn, sql.RAISE_FLAGS, params)


def _payload(link: NewLink) -> dict[str, Any]:
    reference = link.spec.reference
    return {
        "id": str(uuid7()),
        "from_signal_id": str(link.from_signal_id),
        "type": link.spec.type,
        "target_source_id": str(link.target_source_id) if link.target_source_id else None,
        "target_external_id": link.target_external_id,
        "reference": reference.text if reference else None,
        "reference_normalized": reference.normalized if reference else None,
        "reference_words": list(reference.words) if reference else None,
        "reference_date": str(reference.day) if reference and reference.day else None,
    }
