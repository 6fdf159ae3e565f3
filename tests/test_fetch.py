"""`tutor fetch` for real: from the offline mirror, and over HTTP from a loopback server."""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tutor.errors import BadInputError
from tutor.fetch import FetchError, fetch_resources, load_catalog, resources_dir

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "resources"
RL_FILES = ["units/en/unit1/what-is-rl.mdx", "units/en/unit8/clipped-surrogate-objective.mdx"]
CS231N_FILES = ["optimization-2.md"]


def _commit(slug: str) -> str:
    text = (MIRROR / slug / "SOURCE.md").read_text()
    return text.split("commit: `")[1].split("`")[0]


@pytest.fixture
def catalog_corpus(corpus_copy) -> Path:
    """The test corpus plus a three-entry catalog pointing at real mirror files."""
    entries = [
        {
            "id": "rl-course",
            "title": "Deep RL course",
            "url": "https://hf.co/learn/rl",
            "kind": "course",
            "license": "Apache-2.0",
            "free": True,
            "phases": ["other"],
            "topics": ["rlhf"],
            "fetch": {
                "repo": "huggingface/deep-rl-class",
                "commit": _commit("hf-deep-rl-class"),
                "mirror": "hf-deep-rl-class",
                "files": RL_FILES,
                "page_url": {"base": "https://hf.co/learn/rl/", "strip_prefix": "units/en/"},
            },
        },
        {
            "id": "cs231n",
            "title": "CS231n notes",
            "url": "https://cs231n.github.io/",
            "kind": "course",
            "license": "MIT",
            "free": True,
            "phases": [2],
            "topics": ["cnns"],
            "fetch": {
                "repo": "cs231n/cs231n.github.io",
                "commit": _commit("cs231n-notes"),
                "mirror": "cs231n-notes",
                "files": CS231N_FILES,
                "page_url": {"base": "https://cs231n.github.io/"},
            },
        },
        {
            "id": "khan-academy",
            "title": "Khan Academy",
            "url": "https://www.khanacademy.org/",
            "kind": "course",
            "license": "proprietary",
            "free": True,
            "phases": [1],
            "topics": ["linear-algebra"],
        },
    ]
    (corpus_copy / "resources.yaml").write_text(yaml.safe_dump({"resources": entries}))
    return corpus_copy


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802
        if self.path.endswith("optimization-2.md") and self.server.truncate:
            body = b"only the first bytes"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 5000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def http_mirror(tmp_path, catalog_corpus):
    """A loopback server laid out like raw.githubusercontent.com: /{repo}/{commit}/{path}."""
    root = tmp_path / "www"
    for entry in yaml.safe_load((catalog_corpus / "resources.yaml").read_text())["resources"]:
        spec = entry.get("fetch")
        for rel in spec["files"] if spec else []:
            target = root / spec["repo"] / spec["commit"] / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(MIRROR / spec["mirror"] / rel, target)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    server.truncate = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, root
    server.shutdown()
    server.server_close()


def _base(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_fetch_from_a_local_mirror_copies_files_and_records_provenance(settings, catalog_corpus):
    catalog = load_catalog(catalog_corpus)
    report = fetch_resources(catalog, settings.data_dir, mirror=MIRROR)
    assert report.fetched == {"rl-course": 2, "cs231n": 1} and not report.failed
    dest = resources_dir(settings.data_dir)
    assert (dest / "rl-course" / RL_FILES[0]).read_bytes() == (
        MIRROR / "hf-deep-rl-class" / RL_FILES[0]
    ).read_bytes()
    source = json.loads((dest / "cs231n" / "SOURCE.json").read_text())
    assert source["commit"] == _commit("cs231n-notes") and source["license"] == "MIT"
    assert source["method"] == "mirror" and source["complete"] is True
    again = fetch_resources(catalog, settings.data_dir, mirror=MIRROR)
    assert again.fetched == {"rl-course": 0, "cs231n": 0}
    assert again.skipped == {"rl-course": 2, "cs231n": 1}


def test_fetch_over_http_gets_identical_files_and_resumes(settings, catalog_corpus, http_mirror):
    server, _ = http_mirror
    catalog = load_catalog(catalog_corpus)
    report = fetch_resources(catalog, settings.data_dir, ["rl-course"], base_url=_base(server))
    assert report.fetched == {"rl-course": 2}
    dest = resources_dir(settings.data_dir) / "rl-course"
    for rel in RL_FILES:
        assert (dest / rel).read_bytes() == (MIRROR / "hf-deep-rl-class" / rel).read_bytes()
    (dest / RL_FILES[1]).unlink()  # as if the first run had stopped before this file
    again = fetch_resources(catalog, settings.data_dir, ["rl-course"], base_url=_base(server))
    assert again.fetched == {"rl-course": 1} and again.skipped == {"rl-course": 1}


def test_a_404_is_reported_and_the_other_files_still_arrive(settings, catalog_corpus, http_mirror):
    server, root = http_mirror
    (root / "huggingface/deep-rl-class" / _commit("hf-deep-rl-class") / RL_FILES[0]).unlink()
    report = fetch_resources(
        load_catalog(catalog_corpus), settings.data_dir, ["rl-course"], base_url=_base(server)
    )
    assert report.failed == [("rl-course", RL_FILES[0], "HTTP 404 File not found")]
    assert report.fetched == {"rl-course": 1}
    dest = resources_dir(settings.data_dir) / "rl-course"
    assert _files(dest) == {RL_FILES[1], "SOURCE.json"}
    assert json.loads((dest / "SOURCE.json").read_text())["complete"] is False


def test_a_truncated_download_leaves_no_half_file(settings, catalog_corpus, http_mirror):
    server, _ = http_mirror
    server.truncate = True
    report = fetch_resources(
        load_catalog(catalog_corpus), settings.data_dir, ["cs231n"], base_url=_base(server)
    )
    assert report.failed and report.failed[0][:2] == ("cs231n", "optimization-2.md")
    assert "truncated" in report.failed[0][2] or "broken" in report.failed[0][2]
    assert _files(resources_dir(settings.data_dir) / "cs231n") == {"SOURCE.json"}


def test_a_dead_server_stops_with_a_message_and_keeps_earlier_files(settings, catalog_corpus):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    fetch_resources(load_catalog(catalog_corpus), settings.data_dir, ["cs231n"], mirror=MIRROR)
    with pytest.raises(FetchError, match="Cannot reach .*--from"):
        fetch_resources(
            load_catalog(catalog_corpus),
            settings.data_dir,
            ["rl-course"],
            base_url=dead,
            timeout_s=5,
        )
    assert (resources_dir(settings.data_dir) / "cs231n" / CS231N_FILES[0]).is_file()
    assert not list(resources_dir(settings.data_dir).rglob("*.partial"))


def test_link_only_and_unknown_ids_are_bad_input(settings, catalog_corpus):
    catalog = load_catalog(catalog_corpus)
    with pytest.raises(BadInputError, match="khan-academy' has no openly licensed text"):
        fetch_resources(catalog, settings.data_dir, ["khan-academy"], mirror=MIRROR)
    with pytest.raises(BadInputError, match="'nope' is not in the catalog"):
        fetch_resources(catalog, settings.data_dir, ["nope"], mirror=MIRROR)


def test_fetched_resources_are_indexed_with_page_urls_and_phases(
    settings, catalog_corpus, embedder
):
    from tutor.index import build_index, load_index
    from tutor.retrieve import Retriever

    fetch_resources(load_catalog(catalog_corpus), settings.data_dir, mirror=MIRROR)
    report = build_index(settings, embedder=embedder)
    assert "resources/rl-course/units/en/unit8/clipped-surrogate-objective.mdx" in report.added
    index = load_index(settings)
    hits = Retriever(index, embedder, settings).search("PPO clipped surrogate objective ratio")
    top = hits[0].chunk
    assert top.source_id.startswith("resources/rl-course/units/en/unit8/")
    assert top.url.startswith("https://hf.co/learn/rl/unit8/clipped-surrogate-objective")
    assert top.phase == "other" and "(Deep RL course)" in top.title
    assert "<Tip" not in top.text and "<Youtube" not in top.text


def test_cli_fetch_lists_the_catalog_and_fetches_from_a_mirror(settings, catalog_corpus):
    env = dict(
        os.environ, TUTOR_DATA_DIR=str(settings.data_dir), TUTOR_CORPUS_DIR=str(catalog_corpus)
    )
    listed = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "fetch", "--list"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "khan-academy" in listed.stdout and "link only" in listed.stdout
    fetched = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "fetch", "--from", str(MIRROR)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "Fetched 3 files for 2 resources" in fetched.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "fetch", "khan-academy"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no openly licensed text" in bad.stderr


def test_fetch_if_missing_says_when_it_cannot_then_fetches_from_a_mirror_once(
    settings, catalog_corpus
):
    """What `make run` does: offline without a mirror, one line and exit 0; with
    TUTOR_RESOURCES_FROM, the missing resources; then nothing more."""
    env = dict(
        os.environ,
        TUTOR_DATA_DIR=str(settings.data_dir),
        TUTOR_CORPUS_DIR=str(catalog_corpus),
        TUTOR_FETCH_BASE_URL="http://127.0.0.1:9",  # nothing listens there: no network
    )
    env.pop("TUTOR_RESOURCES_FROM", None)

    def fetch(extra_env=None):
        return subprocess.run(
            [sys.executable, "-m", "tutor.cli", "fetch", "--if-missing"],
            env=dict(env, **(extra_env or {})),
            capture_output=True,
            text=True,
        )

    offline = fetch()
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.count("\n") == 1 and offline.stdout.startswith("No network")
    assert "tutor fetch && tutor index" in offline.stdout
    assert not resources_dir(settings.data_dir).exists()

    mirrored = fetch({"TUTOR_RESOURCES_FROM": str(MIRROR)})
    assert mirrored.returncode == 0, mirrored.stderr
    assert "Fetching 2 openly licensed resources (3 files" in mirrored.stdout
    assert (resources_dir(settings.data_dir) / "rl-course" / RL_FILES[1]).is_file()
    again = fetch({"TUTOR_RESOURCES_FROM": str(MIRROR)})
    assert again.stdout.strip() == "The linked resources are fetched already."


def test_the_lock_pins_every_dependency_with_hashes():
    import tomllib

    repo = Path(__file__).resolve().parents[1]
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    lock = (repo / "requirements.lock").read_text()
    entries = {}
    for block in lock.split("\n"):
        if block and not block[0].isspace() and "==" in block and not block.startswith("#"):
            name, version = block.split(" ")[0].split("==")
            entries[name.lower().replace("_", "-")] = version
    hashed = [b for b in lock.split("\n") if b and not b[0].isspace() and "==" in b]
    assert all(line.endswith("\\") for line in hashed)  # each pin is followed by its hashes
    assert lock.count("--hash=sha256:") >= len(entries)
    wanted = project["dependencies"] + [
        d
        for extra in ("model-1_5b", "model-0_5b", "dev")
        for d in project["optional-dependencies"][extra]
    ]
    for requirement in wanted:
        name, version = requirement.split(";")[0].split("==")
        name = name.split("[")[0].strip().lower().replace("_", "-")
        assert entries.get(name, "").split("+")[0] == version.strip(), requirement
    # Transitive dependencies are pinned too, not only the direct ones.
    assert {"starlette", "pydantic", "tokenizers", "jinja2"} <= set(entries)
    assert len(entries) > 2 * len(wanted)


def test_the_catalog_covers_the_roadmap_and_every_mirrored_file_exists():
    catalog = {r.id: r for r in load_catalog(Path(__file__).resolve().parents[1] / "corpus")}
    for needed in (
        "khan-academy",
        "3blue1brown",
        "python-ds-handbook",
        "kaggle-python",
        "andrew-ng-ml",
        "hands-on-ml",
        "deep-learning-specialization",
        "nielsen-nndl",
        "cs231n",
        "annotated-transformer",
        "goodfellow-gan-paper",
        "illustrated-transformer",
        "hf-llm-course",
        "hf-docs",
        "compvis-stable-diffusion",
        "waveglow",
        "vits",
        "fastapi-docs",
        "streamlit-docs",
        "gradio-docs",
        "arxiv",
        "openai-blog",
        "hf-blog",
        "deepmind-blog",
        "r-machinelearning",
    ):
        assert needed in catalog, needed
    mirrors = [r.fetch.mirror for r in catalog.values() if r.fetch]
    slugs = {e["slug"] for e in json.loads((MIRROR / "manifest.json").read_text())}
    assert sorted(mirrors) == sorted(slugs)
    for resource in catalog.values():
        assert resource.kind in {
            "book",
            "course",
            "video",
            "paper",
            "docs",
            "repository",
            "blog",
            "community",
        }
        if resource.fetch:
            assert resource.fetch.commit == _commit(resource.fetch.mirror)
            for rel in resource.fetch.files:
                assert (MIRROR / resource.fetch.mirror / rel).is_file(), rel
    assert catalog["python-ds-handbook"].fetch is None  # CC BY-NC-ND text is linked, not copied


def test_every_resource_a_study_note_cites_is_in_the_catalog():
    from tutor.ingest import split_front_matter

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    ids = {r.id for r in load_catalog(corpus)}
    for note in (corpus / "notes").rglob("*.md"):
        meta, _ = split_front_matter(note.read_text())
        assert set(meta["resources"]) <= ids, (note.name, set(meta["resources"]) - ids)
