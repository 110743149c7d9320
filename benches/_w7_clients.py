"""W7's clients: the same job (hold every Service and Endpoints of the cluster, follow changes) done
by this package and by the libraries a user would pick instead.

Each client lists both resources, then watches them, and notes when it has applied the last
change of a churn round (the sentinel objects' ``w7-round`` label, see ``_w7_server.py``); events of
one resource arrive in order on one stream, so seeing the sentinel's change means every earlier
change of that round was applied. All clients read the server's kubeconfig.

- ``package``: ``KubernetesSource`` into ``ServiceConfig`` / ``EndpointsConfig`` through the public
  API (pages of 500), a handler per config reading the sentinel from the delivered snapshot;
- ``informer``: ``kubernetes.informer.SharedInformer`` per resource (one unpaged list, then
  ``Watch().stream``), handlers on ADDED / MODIFIED;
- ``official``: the official client's paged list (500) into a dict, then ``Watch().stream``
  (with bookmarks) per resource, on a thread each;
- ``lightkube``: ``Client.list(chunk_size=500)`` into a dict, then ``Client.watch`` from the list's
  resourceVersion, on a thread each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from benches._w7_server import ROUND_LABEL, sentinel_key

RESOURCES = ("services", "endpoints")
PAGE = 500


class Rounds:
    """The last churn round whose sentinel change each resource has applied."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seen = dict.fromkeys(RESOURCES, 0)

    def note(self, resource: str, labels: dict[str, str] | None) -> None:
        value = (labels or {}).get(ROUND_LABEL)
        if value is not None and int(value) > self._seen[resource]:
            with self._cond:
                self._seen[resource] = int(value)
                self._cond.notify_all()

    def wait(self, round_no: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: min(self._seen.values()) >= round_no, timeout=timeout
            )


class Synced:
    """Set once every resource has its whole initial list."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._cond = threading.Condition()
        self._count = dict.fromkeys(RESOURCES, 0)

    def add(self, resource: str, count: int = 1) -> None:
        with self._cond:
            self._count[resource] += count
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: min(self._count.values()) >= self.n, timeout=timeout)


def _threads(targets: Iterable[Callable[[], None]]) -> None:
    for target in targets:
        threading.Thread(target=target, name=f"w7-{target.__name__}", daemon=True).start()


class PackageClient:
    watch_list: bool | None = None  # streamed lists when the server offers them

    def __init__(self, kubeconfig: str, n: int, timeout: float) -> None:
        from kubernetes import config

        from kubeproxy_config import EndpointsConfig, KubernetesSource, ServiceConfig

        self.rounds = Rounds()
        self.timeout = timeout
        self.deliveries = 0  # handler calls: the Python code the package runs for the user
        namespace, name = sentinel_key()
        self.configs = (ServiceConfig(), EndpointsConfig())
        for cfg, resource in zip(self.configs, RESOURCES, strict=True):

            def handler(snap: Any, resource: str = resource) -> None:
                self.deliveries += 1
                obj = snap.get(namespace, name)
                if obj is not None:
                    self.rounds.note(resource, dict(obj.labels))

            cfg.register_handler(handler)
        api_client = config.new_client_from_config(config_file=kubeconfig)
        self.source = KubernetesSource(
            api_client,
            services=self.configs[0],
            endpoints=self.configs[1],
            page_size=PAGE,
            watch_list=self.watch_list,
        )

    def sync(self) -> None:
        self.source.start()
        if not self.source.wait_synced(self.timeout):
            raise TimeoutError("the package did not sync")
        for cfg in self.configs:
            cfg.flush()

    def close(self) -> None:
        self.source.stop()
        for cfg in self.configs:
            cfg.close()


class InformerClient:
    def __init__(self, kubeconfig: str, n: int, timeout: float) -> None:
        from kubernetes import client, config
        from kubernetes.informer import ADDED, MODIFIED, SharedInformer

        self.rounds, self.synced, self.timeout = Rounds(), Synced(n), timeout
        namespace, name = sentinel_key()
        core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        lists = (core.list_service_for_all_namespaces, core.list_endpoints_for_all_namespaces)
        self.informers = []
        for list_func, resource in zip(lists, RESOURCES, strict=True):
            informer = SharedInformer(list_func)

            def added(_obj: Any, resource: str = resource) -> None:
                self.synced.add(resource)

            def modified(obj: Any, resource: str = resource) -> None:
                meta = obj.metadata
                if meta.name == name and meta.namespace == namespace:
                    self.rounds.note(resource, meta.labels)

            informer.add_event_handler(ADDED, added)
            informer.add_event_handler(MODIFIED, modified)
            self.informers.append(informer)

    def sync(self) -> None:
        for informer in self.informers:
            informer.start()
        if not self.synced.wait(self.timeout):
            raise TimeoutError("the informer did not sync")

    def close(self) -> None:
        pass  # daemon threads; SharedInformer.stop() would wait for the next event


class _Follower:
    """A client that follows Services and Endpoints on a thread each, into plain dicts."""

    rounds: Rounds
    synced: Synced
    timeout: float
    label = ""  # for the timeout message

    def _follow(self, index: int) -> None:
        raise NotImplementedError

    def _apply(
        self,
        resource: str,
        store: dict[tuple[str, str], Any],
        event_type: str,
        obj: Any,
        sentinel: tuple[str, str],
    ) -> None:
        meta = obj.metadata
        key = (meta.namespace, meta.name)
        if event_type == "DELETED":
            store.pop(key, None)
        else:
            store[key] = obj
        if key == sentinel:
            self.rounds.note(resource, meta.labels)

    def sync(self) -> None:
        def services() -> None:
            self._follow(0)

        def endpoints() -> None:
            self._follow(1)

        _threads((services, endpoints))
        if not self.synced.wait(self.timeout):
            raise TimeoutError(f"{self.label} did not sync")

    def close(self) -> None:
        pass  # daemon threads


class OfficialClient(_Follower):
    label = "the official client"

    def __init__(self, kubeconfig: str, n: int, timeout: float) -> None:
        from kubernetes import client, config, watch

        self.rounds, self.synced, self.timeout = Rounds(), Synced(n), timeout
        core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self.lists = (core.list_service_for_all_namespaces, core.list_endpoints_for_all_namespaces)
        self.stores: list[dict[tuple[str, str], Any]] = [{}, {}]
        self.watch = watch

    def _follow(self, index: int) -> None:
        list_func, store, resource = self.lists[index], self.stores[index], RESOURCES[index]
        namespace, name = sentinel_key()
        token = None
        while True:
            page = list_func(limit=PAGE, _continue=token)
            for item in page.items:
                store[(item.metadata.namespace, item.metadata.name)] = item
            token = page.metadata._continue
            if not token:
                break
        self.synced.add(resource, len(store))
        stream = self.watch.Watch().stream(
            list_func, resource_version=page.metadata.resource_version, allow_watch_bookmarks=True
        )
        for event in stream:
            if event["type"] != "BOOKMARK":
                self._apply(resource, store, event["type"], event["object"], (namespace, name))


class LightkubeClient(_Follower):
    label = "lightkube"

    def __init__(self, kubeconfig: str, n: int, timeout: float) -> None:
        from lightkube import Client
        from lightkube.config.kubeconfig import KubeConfig
        from lightkube.resources.core_v1 import Endpoints, Service

        self.rounds, self.synced, self.timeout = Rounds(), Synced(n), timeout
        config = KubeConfig.from_file(kubeconfig)
        self.clients = (Client(config), Client(config))  # one per thread
        self.kinds = (Service, Endpoints)
        self.stores: list[dict[tuple[str, str], Any]] = [{}, {}]

    def _follow(self, index: int) -> None:
        client = self.clients[index]
        kind, store, resource = self.kinds[index], self.stores[index], RESOURCES[index]
        namespace, name = sentinel_key()
        listing = client.list(kind, namespace="*", chunk_size=PAGE)
        for item in listing:
            store[(item.metadata.namespace, item.metadata.name)] = item
        self.synced.add(resource, len(store))
        for kind_of_event, obj in client.watch(
            kind, namespace="*", resource_version=listing.resourceVersion
        ):
            self._apply(resource, store, kind_of_event, obj, (namespace, name))


class PackagePagedClient(PackageClient):
    """The package with paginated lists (``watch_list=False``), beside its streamed lists."""

    watch_list = False


CLIENTS: dict[str, Any] = {
    "package": PackageClient,
    "package-paged": PackagePagedClient,
    "informer": InformerClient,
    "official": OfficialClient,
    "lightkube": LightkubeClient,
}
