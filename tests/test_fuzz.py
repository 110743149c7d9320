"""Fuzzing of everything that parses outside input, from Python (SPEC §2, §3, §5).

Hypothesis drives ``from_dict`` / ``from_json`` with arbitrary JSON-like values and mutated
fixtures, ``send_json`` / ``apply_watch_events`` / ``parse_list`` with arbitrary and mutated bytes,
and ``FileSource`` with arbitrary YAML. Invariants: nothing crashes; the only errors are
``InvalidObject`` (``TypeError`` where an argument has the wrong Python type); an accepted object
round-trips through ``to_dict``; a rejected call leaves the config's state and version unchanged.

The corpus of the cargo-fuzz targets (``rust/fuzz/corpus/<target>/``) is replayed through the same
entry points, so CI covers it without cargo-fuzz.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from _fuzz_strategies import (
    CORPUS,
    FIXTURE_OBJECTS,
    FUZZ,
    KINDS,
    WAIT,
    AnyConfig,
    Kind,
    Obj,
    event_lines,
    fixtures_of,
    json_texts,
    json_values,
    keys,
    list_pages,
    mutated_bytes,
    mutated_of,
)
from kubeproxy_config import (
    EndpointsConfig,
    InvalidObject,
    Service,
    ServiceConfig,
    SourceChannel,
)
from kubeproxy_config.sources.files import FileSource

# -- checks ----------------------------------------------------------------------------------


def check_accepted(cls: Kind, obj: Obj) -> None:
    """An accepted object is hashable, printable and round-trips through its JSON shape."""
    assert isinstance(obj, cls)
    hash(obj)
    repr(obj)
    data = obj.to_dict()
    assert cls.from_dict(data) == obj
    assert cls.from_json(json.dumps(data)) == obj


def view(config: AnyConfig) -> tuple[int, list[tuple[str, str | None]]]:
    snap = config.state()
    return snap.version, [(o.key, o.resource_version) for o in snap]


def sent_or_rejected(config: AnyConfig, send: Callable[[], object]) -> bool:
    """Run ``send``: True if accepted; if it raised InvalidObject, check nothing changed."""
    assert config.flush(WAIT)
    before = view(config)
    try:
        send()
    except InvalidObject as exc:
        assert str(exc)
        assert config.flush(WAIT)
        assert view(config) == before, "a rejected call changed the state"
        return False
    assert config.flush(WAIT)
    return True


def per_kind(
    strategy: Callable[[str], st.SearchStrategy[Any]],
) -> st.SearchStrategy[tuple[str, Any]]:
    """A kind drawn at random, with a value from ``strategy(kind)``: one property covers all
    three kinds within its example budget."""
    return st.sampled_from(list(KINDS)).flatmap(lambda k: st.tuples(st.just(k), strategy(k)))


@pytest.fixture
def configs() -> Iterator[dict[str, AnyConfig]]:
    """One config per kind, closed afterwards."""
    made = {kind: make() for kind, (_, make) in KINDS.items()}
    yield made
    for config in made.values():
        config.close()


# -- objects ---------------------------------------------------------------------------------


@FUZZ
@given(per_kind(lambda _: st.dictionaries(keys, json_values, max_size=6)))
def test_from_dict_arbitrary_values(case: tuple[str, dict[str, Any]]) -> None:
    kind, value = case
    cls = KINDS[kind][0]
    original = copy.deepcopy(value)
    try:
        obj = cls.from_dict(value)
    except InvalidObject:
        pass
    else:
        check_accepted(cls, obj)
    assert value == original, "from_dict changed its input"


@settings(FUZZ, max_examples=50)
@given(per_kind(lambda _: json_values.filter(lambda v: not isinstance(v, dict))))
def test_from_dict_top_level_non_objects(case: tuple[str, Any]) -> None:
    kind, value = case
    # A str is JSON text (SPEC §2); other non-mappings are the wrong argument type.
    with pytest.raises(InvalidObject if isinstance(value, str) else TypeError):
        KINDS[kind][0].from_dict(value)


@FUZZ
@given(per_kind(mutated_of))
def test_from_dict_mutated_fixtures(case: tuple[str, dict[str, Any]]) -> None:
    kind, value = case
    cls = KINDS[kind][0]
    try:
        obj = cls.from_dict(value)
    except InvalidObject as exc:
        assert exc.key is None or exc.key.count("/") == 1
    else:
        check_accepted(cls, obj)


@FUZZ
@given(per_kind(json_texts))
def test_from_json_arbitrary_bytes(case: tuple[str, bytes]) -> None:
    kind, data = case
    cls = KINDS[kind][0]
    try:
        obj = cls.from_json(data)
    except InvalidObject:
        return
    check_accepted(cls, obj)


@pytest.mark.parametrize("kind", list(KINDS))
def test_fixtures_are_accepted(kind: str) -> None:
    cls = KINDS[kind][0]
    for value in FIXTURE_OBJECTS[kind]:
        check_accepted(cls, cls.from_dict(value))


# Values a dict can hold but JSON cannot carry (found by the fuzzing above): they must be
# InvalidObject naming the object's key and the field's path, like every other invalid value.
UNREPRESENTABLE = [
    ("spec.ports[0].port", {"spec": {"ports": [{"port": 2**70}]}}),
    ("spec.ports[0].port", {"spec": {"ports": [{"port": float("nan")}]}}),
    ("metadata.labels.k", {"metadata": {"name": "a", "labels": {"k": float("inf")}}}),
    ("metadata.labels.k", {"metadata": {"name": "a", "labels": {"k": "\ud800"}}}),
]


@pytest.mark.parametrize(("path", "value"), UNREPRESENTABLE)
def test_unrepresentable_values_name_key_and_path(path: str, value: dict[str, Any]) -> None:
    value = {"metadata": {"name": "a"}, **value}
    with pytest.raises(InvalidObject) as info:
        Service.from_dict(value)
    assert (info.value.key, info.value.path) == ("default/a", path)


def test_ignored_fields_are_ignored_in_dicts_as_in_json() -> None:
    """Unknown fields are ignored (they are not validated) whether the object is a dict or JSON
    text; a number out of the 64-bit range there is accepted by from_json but not by from_dict."""
    value = {"metadata": {"name": "a"}, "status": {"observedGeneration": 2**64}}
    assert Service.from_json(json.dumps(value)).key == "default/a"
    assert Service.from_dict(value) == Service.from_json(json.dumps(value))


# -- channels --------------------------------------------------------------------------------


def test_send_json_rejected_batches_change_nothing(configs: dict[str, AnyConfig]) -> None:
    @FUZZ
    @given(per_kind(json_texts), st.sampled_from(["SET", "ADD", "UPDATE", "REMOVE"]))
    def check(case: tuple[str, bytes], op: str) -> None:
        kind, data = case
        channel = configs[kind].channel("fuzz")
        sent_or_rejected(configs[kind], lambda: channel.send_json(op, data))

    check()


def test_one_bad_object_rejects_the_whole_batch(configs: dict[str, AnyConfig]) -> None:
    @FUZZ
    @given(
        per_kind(
            lambda k: st.tuples(st.lists(fixtures_of(k), min_size=1, max_size=3), mutated_of(k))
        ),
        st.integers(0, 3),
        st.booleans(),
    )
    def check(
        case: tuple[str, tuple[list[dict[str, Any]], dict[str, Any]]], at: int, as_json: bool
    ) -> None:
        kind, (good, bad) = case
        cls, channel = KINDS[kind][0], configs[kind].channel("fuzz")
        # Dicts and JSON text are checked apart: an out-of-range int in an ignored field is
        # refused in a dict but read as a float (and ignored) in JSON text.
        try:
            cls.from_json(json.dumps(bad)) if as_json else cls.from_dict(bad)
        except InvalidObject:
            pass
        else:
            return  # the mutation left it valid: not this test's case
        batch = [*good[:at], bad, *good[at:]]
        send: Callable[[], object] = (
            (lambda: channel.send_json("ADD", json.dumps(batch)))
            if as_json
            else (lambda: channel.add(batch))
        )
        assert not sent_or_rejected(configs[kind], send)

    check()


def test_apply_watch_events_arbitrary_chunks(configs: dict[str, AnyConfig]) -> None:
    @FUZZ
    @given(per_kind(event_lines))
    def check(case: tuple[str, bytes]) -> None:
        kind, data = case
        channel = configs[kind].channel("fuzz")
        sent_or_rejected(configs[kind], lambda: channel.apply_watch_events(data))

    check()


def test_parse_list_arbitrary_pages(configs: dict[str, AnyConfig]) -> None:
    @FUZZ
    @given(per_kind(list_pages))
    def check(case: tuple[str, bytes]) -> None:
        kind, data = case
        cls, channel = KINDS[kind][0], configs[kind].channel("fuzz")
        # parse_list sends nothing, accepted or not.
        sent_or_rejected(configs[kind], lambda: check_page(cls, channel.parse_list(data)))

    check()


def check_page(cls: Kind, result: tuple[Any, ...]) -> None:
    items, resource_version, continue_token = result[:3]
    assert all(isinstance(item, cls) for item in items)
    assert resource_version is None or isinstance(resource_version, str)
    assert continue_token is None or isinstance(continue_token, str)


# -- manifests -------------------------------------------------------------------------------

YAML_ALPHABET = st.sampled_from(list("abkindServ:-[]{}&*!|>'\"#%@`,?\n\t 0123456789."))


def yaml_texts() -> st.SearchStrategy[str]:
    """Arbitrary YAML-ish text, dumped (and then damaged) manifests, odd YAML features."""
    objects = st.one_of(*(st.one_of(fixtures_of(k), mutated_of(k)) for k in KINDS))
    documents = st.lists(st.one_of(objects, json_values), min_size=1, max_size=3)
    dumped = documents.map(lambda docs: yaml.safe_dump_all(docs))
    damaged = dumped.flatmap(
        lambda text: mutated_bytes(text.encode()).map(lambda b: b.decode("utf-8", "replace"))
    )
    features = st.sampled_from(
        [
            "a: &a [*a]\nkind: Service\nmetadata: {name: x, labels: *a}\n",
            "kind: Service\nmetadata: !!python/object:os.system {name: x}\n",
            "kind: ServiceList\nitems: [1, 2]\n",
            "kind: List\nitems:\n- kind: Service\n  metadata: {name: y}\n- 3\n",
            "kind: Service\nmetadata:\n  name: x\n  name: y\n",
            "{kind: Service, metadata: {name: x}, spec: {ports: [{port: 0x50}]}}\n",
            "--- !!binary aGVsbG8=\n",
            "\ufeffkind: Service\nmetadata: {name: bom}\n",
        ]
    )
    return st.one_of(st.text(YAML_ALPHABET, max_size=300), dumped, damaged, features)


def test_manifests_arbitrary_yaml(tmp_path: Path) -> None:
    good = tmp_path / "a-good.yaml"
    good.write_text(yaml.safe_dump_all([FIXTURE_OBJECTS[k][0] for k in KINDS]))
    target = tmp_path / "b-fuzz.yaml"
    with ServiceConfig() as services, EndpointsConfig() as endpoints:
        configs: list[AnyConfig] = [services, endpoints]
        source = FileSource(tmp_path, services=services, endpoints=endpoints)
        source.reload()
        assert source.last_errors == {}
        baseline = [set(o.key for o in c.state()) for c in configs]

        @FUZZ
        @given(yaml_texts())
        def check(text: str) -> None:
            for config in configs:
                assert config.flush(WAIT)
            before = [view(c) for c in configs]
            target.write_text(text, encoding="utf-8", errors="surrogateescape")
            source.reload()  # a bad file is reported, never raised
            for config, keys_ in zip(configs, baseline, strict=True):
                assert config.flush(WAIT)
                assert keys_ <= {o.key for o in config.state()}, "the good file was lost"
            if str(target) in source.last_errors:
                assert [view(c) for c in configs] == before, "a rejected file changed the state"

        check()


@pytest.mark.parametrize("api_version", ["[]", "{a: b}", "[v1]"])
def test_manifest_with_unhashable_api_version_is_rejected_not_raised(
    tmp_path: Path, api_version: str
) -> None:
    """Found by the fuzzing above: ``apiVersion: []`` made parse_manifest raise TypeError
    (unhashable type), out of ``reload()`` and, in the watch thread, ending the watch."""
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(FIXTURE_OBJECTS["Service"][0]))
    (tmp_path / "b.yaml").write_text(
        f"apiVersion: {api_version}\nkind: Service\nmetadata: {{name: odd}}\n"
    )
    with ServiceConfig() as services:
        source = FileSource(tmp_path, services=services)
        source.reload()  # a bad file is reported (or the object ignored), never raised
        assert services.flush(WAIT)
        assert "odd" not in {obj.name for obj in services.state()}
        assert len(services.state()) == 1


# -- the cargo-fuzz corpus -------------------------------------------------------------------


def corpus_files() -> Iterator[Path]:
    for target in ("objects", "watch_events", "list_page"):
        yield from sorted((CORPUS / target).iterdir())


def test_corpus_is_present() -> None:
    for target in ("objects", "watch_events", "list_page"):
        assert any((CORPUS / target).iterdir()), f"empty corpus for {target}"


def replay(cls: Kind, channel: SourceChannel, data: bytes) -> None:
    calls: list[Callable[[], object]] = [
        lambda: cls.from_json(data),
        lambda: channel.send_json("SET", data),
        lambda: channel.send_json("REMOVE", data),
        lambda: channel.apply_watch_events(data),
        lambda: channel.parse_list(data),
    ]
    for call in calls:
        try:
            call()
        except InvalidObject:
            pass


def test_replay_corpus() -> None:
    """Every corpus file through every entry point that parses bytes: only InvalidObject."""
    configs = [make() for _, make in KINDS.values()]
    try:
        channels = [
            (cls, config.channel("corpus"))
            for (cls, _), config in zip(KINDS.values(), configs, strict=True)
        ]
        count = 0
        for path in corpus_files():
            data = path.read_bytes()
            count += 1
            for cls, channel in channels:
                replay(cls, channel, data)
            assert all(c.flush(WAIT) for c in configs)
        assert count > 0
    finally:
        for config in configs:
            config.close()
