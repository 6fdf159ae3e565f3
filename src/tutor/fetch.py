"""Fetch the openly licensed resources of the catalog into the data directory.

`corpus/resources.yaml` lists every resource the roadmap names; those whose text may be
copied carry a fetch spec (repository, commit, files). Files come either over HTTP from
raw file URLs (`{base}/{repo}/{commit}/{path}`) or from a local mirror laid out as
`<mirror>/<slug>/<path>`. Each file is written to a temporary name and renamed only when
complete, so a file on disk is always whole and a re-run skips it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from tutor.errors import BadInputError, TutorError

SOURCE_FILE = "SOURCE.json"  # provenance beside each fetched resource; not indexed


class FetchError(TutorError):
    pass


@dataclass(frozen=True)
class FetchSpec:
    repo: str
    commit: str
    files: tuple[str, ...]
    mirror: str
    page_url: dict


@dataclass(frozen=True)
class Resource:
    id: str
    title: str
    url: str
    kind: str
    license: str
    free: bool
    phases: tuple
    topics: tuple[str, ...]
    author: str = ""
    description: str = ""
    fetch: FetchSpec | None = None
    every_page: str | None = None  # a topic every page serves (tool docs: FastAPI's)


def load_catalog(corpus_dir: Path) -> list[Resource]:
    path = Path(corpus_dir) / "resources.yaml"
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))["resources"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise TutorError(f"Cannot read the resource catalog {path}: {exc}") from exc
    resources = []
    for entry in entries:
        spec = entry.get("fetch")
        fetch = None
        if spec:
            fetch = FetchSpec(
                repo=spec["repo"],
                commit=spec["commit"],
                files=tuple(spec["files"]),
                mirror=spec.get("mirror", entry["id"]),
                page_url=spec.get("page_url") or {"base": entry["url"], "whole": True},
            )
        resources.append(
            Resource(
                id=entry["id"],
                title=entry["title"],
                url=entry["url"],
                kind=entry["kind"],
                license=str(entry["license"]),
                free=bool(entry["free"]),
                phases=tuple(entry.get("phases") or ()),
                topics=tuple(entry.get("topics") or ()),
                author=entry.get("author", ""),
                description=entry.get("description", ""),
                fetch=fetch,
                every_page=entry.get("every_page"),
            )
        )
    return resources


def page_url(rule: dict, path: str) -> str:
    """The web page of a fetched file.

    >>> page_url({"base": "https://d2l.ai/", "suffix": ".html"}, "chapter_x/attention.md")
    'https://d2l.ai/chapter_x/attention.html'
    >>> page_url({"base": "https://hf.co/learn/llm-course/", "strip_prefix": "chapters/en/"},
    ...          "chapters/en/chapter1/3.mdx")
    'https://hf.co/learn/llm-course/chapter1/3'
    """
    if rule.get("whole"):
        return rule["base"]
    prefix = rule.get("strip_prefix", "")
    rel = path[len(prefix) :] if prefix and path.startswith(prefix) else path
    if rule.get("strip_suffix", True):
        rel = os.path.splitext(rel)[0]
    return rule["base"] + rel + rule.get("suffix", "")


@dataclass
class FetchReport:
    fetched: dict[str, int] = field(default_factory=dict)  # resource id -> files written
    skipped: dict[str, int] = field(default_factory=dict)  # resource id -> files already there
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, path, reason)


Progress = Callable[[str, int, int], None]  # (resource id, files done, files total)


def resources_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "resources"


def _download(url: str, target: Path, timeout_s: float) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            expected = response.headers.get("Content-Length")
            with partial.open("wb") as out:
                shutil.copyfileobj(response, out)
        size = partial.stat().st_size
        if expected is not None and size != int(expected):
            raise FetchError(f"truncated download ({size} of {expected} bytes)")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _copy(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _write_source(dest: Path, resource: Resource, method: str, origin: str, complete: bool):
    spec = resource.fetch
    record = {
        "id": resource.id,
        "title": resource.title,
        "url": resource.url,
        "license": resource.license,
        "repo": spec.repo,
        "commit": spec.commit,
        "phases": list(resource.phases),
        "topics": list(resource.topics),
        "page_url": spec.page_url,
        "method": method,
        "origin": origin,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": complete,
    }
    (dest / SOURCE_FILE).write_text(json.dumps(record, indent=1))


def missing_resources(catalog: list[Resource], data_dir: Path) -> list[Resource]:
    """The fetchable resources not (completely) fetched into `data_dir` yet."""
    missing = []
    for resource in catalog:
        if not resource.fetch:
            continue
        try:
            record = json.loads((resources_dir(data_dir) / resource.id / SOURCE_FILE).read_text())
        except (OSError, ValueError):
            record = {}
        if not record.get("complete") or record.get("commit") != resource.fetch.commit:
            missing.append(resource)
    return missing


def network_reachable(base_url: str, timeout_s: float = 5.0) -> bool:
    """Whether `base_url`'s server answers at all (any HTTP status counts)."""
    try:
        urllib.request.urlopen(base_url, timeout=timeout_s).close()  # noqa: S310
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError):
        return False
    return True


def fetch_resources(
    catalog: list[Resource],
    data_dir: Path,
    ids: list[str] | None = None,
    mirror: Path | None = None,
    base_url: str = "https://raw.githubusercontent.com",
    timeout_s: float = 30.0,
    progress: Progress | None = None,
) -> FetchReport:
    """Fetch the chosen (default: all fetchable) resources; files already there are kept."""
    fetchable = {r.id: r for r in catalog if r.fetch}
    unknown = [i for i in ids or [] if i not in fetchable]
    if unknown:
        known = {r.id for r in catalog}
        problems = [
            f"'{i}' has no openly licensed text to fetch; open it by its link "
            "(`tutor fetch --list`)"
            if i in known
            else f"'{i}' is not in the catalog (`tutor fetch --list` shows the ids)"
            for i in unknown
        ]
        raise BadInputError("; ".join(problems) + ".")
    if mirror is not None and not Path(mirror).is_dir():
        raise FetchError(f"Mirror folder {mirror} does not exist.")
    progress = progress or (lambda rid, done, total: None)
    report = FetchReport()
    for rid in ids or list(fetchable):
        resource = fetchable[rid]
        spec = resource.fetch
        dest = resources_dir(data_dir) / rid
        dest.mkdir(parents=True, exist_ok=True)
        origin = (
            str(Path(mirror) / spec.mirror) if mirror else f"{base_url}/{spec.repo}/{spec.commit}"
        )
        method = "mirror" if mirror else "http"
        _write_source(dest, resource, method, origin, complete=False)
        written = skipped = 0
        for n, rel in enumerate(spec.files, 1):
            target = dest / rel
            if target.is_file():
                skipped += 1
                progress(rid, n, len(spec.files))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                if mirror:
                    source = Path(mirror) / spec.mirror / rel
                    if not source.is_file():
                        raise FetchError(f"not in the mirror ({source})")
                    _copy(source, target)
                else:
                    _download(f"{origin}/{rel}", target, timeout_s)
                written += 1
            except urllib.error.HTTPError as exc:
                report.failed.append((rid, rel, f"HTTP {exc.code} {exc.reason}"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                raise FetchError(
                    f"Cannot reach {base_url} ({reason}) while fetching {rid}. Check the network, "
                    "or fetch from a local copy: `tutor fetch --from DIR`. Files already fetched "
                    "are kept; re-run to resume."
                ) from exc
            except http.client.HTTPException as exc:
                report.failed.append((rid, rel, f"broken download ({exc.__class__.__name__})"))
            except (FetchError, OSError) as exc:
                report.failed.append((rid, rel, str(exc)))
            progress(rid, n, len(spec.files))
        report.fetched[rid], report.skipped[rid] = written, skipped
        complete = not any(f[0] == rid for f in report.failed)
        _write_source(dest, resource, method, origin, complete=complete)
    return report


def resource_metadata(data_dir: Path, source_id: str) -> dict:
    """Catalog facts for a fetched file `resources/<id>/<path>`: title, page URL, phase."""
    parts = source_id.split("/", 2)
    if len(parts) < 3 or parts[0] != "resources":
        return {}
    try:
        record = json.loads((resources_dir(data_dir) / parts[1] / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    phases = record.get("phases") or [None]
    return {
        "resource": record["title"],
        "url": page_url(record["page_url"], parts[2]),
        "phase": phases[0],
        "license": record.get("license"),
    }
