"""``FakeAPIServer``: a protocol-faithful Kubernetes API server on loopback, for tests."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeproxy_config._lifecycle import StartStop
from kubeproxy_config.testing import _status
from kubeproxy_config.testing._allocator import Allocator
from kubeproxy_config.testing._faults import Faults, RequestLog, RequestRecord
from kubeproxy_config.testing._handler import APIHTTPServer, Context
from kubeproxy_config.testing._kubeconfig import kubeconfig_dict, write_kubeconfig
from kubeproxy_config.testing._listing import Query, list_objects
from kubeproxy_config.testing._objects import normalize, to_dict
from kubeproxy_config.testing._patch import MERGE, apply_patch
from kubeproxy_config.testing._resources import SERVICES, Resource, for_object, resolve
from kubeproxy_config.testing._selectors import FieldSelector, LabelSelector
from kubeproxy_config.testing._status import StatusError
from kubeproxy_config.testing._store import Obj, Store, Watcher, deep
from kubeproxy_config.testing._tls import TLSMaterial, make_tls, require_trustme
from kubeproxy_config.testing._watch import GARBAGE, OVERSIZED

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration


def _resource(kind_or_resource: str | Resource) -> Resource:
    return kind_or_resource if isinstance(kind_or_resource, Resource) else resolve(kind_or_resource)


class FakeAPIServer(StartStop):
    """A Kubernetes API server for tests, on 127.0.0.1, speaking real HTTP/1.1 (and TLS).

    Serves core/v1 ``services``, ``endpoints`` and (read-only) ``namespaces``, and
    discovery.k8s.io/v1 ``endpointslices``: discovery documents, get, list (selectors,
    ``limit``/``continue`` over a consistent snapshot), watch (chunked JSON lines, bookmarks,
    ``timeoutSeconds``, replay from a resourceVersion, 410 after ``compact``), create, replace,
    patch (JSON merge, strategic merge, JSON patch), server-side apply, delete. The official
    ``kubernetes`` client and ``kubectl`` work against it.

    Writes over HTTP go through what the API server's registry does: defaulting, cluster IP
    and node port allocation for Services (``service_cidr``, ``node_port_range``) and 422
    Invalid for a value in use or out of range. The Python methods below (``create``,
    ``replace``, ``apply``, ``patch``, ``objects=``) store objects as given, like fixtures
    written straight to storage: no defaulting, allocation or checks; the IPs and ports of
    their Services still count as in use.

    Use as a context manager (or ``start()`` / ``stop()``)::

        with FakeAPIServer(token="secret") as server:
            server.create({"kind": "Service", "metadata": {"name": "a", "namespace": "ns"}})
            api = kubernetes.client.CoreV1Api(server.api_client())

    Args:
        tls: serve HTTPS with a fresh ``trustme`` CA (see ``ca_path`` / ``ca_pem``); needs
            the ``testing`` extra (without it, ``ImportError`` naming what to install).
        client_certs: with ``tls``, require a client certificate signed by that CA;
            ``configuration()`` and ``kubeconfig()`` carry one.
        watch_list: serve streaming lists (a watch with ``sendInitialEvents=true``) as a current
            API server does; False answers them 422, as a server with the WatchList gate off.
        token: require ``Authorization: Bearer <token>`` (else 401) when set; assign
            ``server.token`` to rotate it.
        bookmark_interval: seconds between BOOKMARK events on watches that allow them.
        service_cidr: the range cluster IPs are allocated from (its first address is kept for
            the ``kubernetes`` Service, as on a real cluster).
        node_port_range: the inclusive range node ports are allocated from.
        objects: objects to store before serving (dicts, JSON, or ``kubernetes`` models).
        port: the port to listen on (0: an ephemeral one). Always on 127.0.0.1.
        start_resource_version: the resourceVersion of the empty store.
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        client_certs: bool = False,
        token: str | None = None,
        watch_list: bool = True,
        bookmark_interval: float = 1.0,
        service_cidr: str = "10.96.0.0/12",
        node_port_range: tuple[int, int] = (30000, 32767),
        objects: Iterable[object] = (),
        port: int = 0,
        start_resource_version: int = 1,
    ) -> None:
        self._alloc = Allocator(service_cidr, node_port_range)
        self._store = Store(start_resource_version, self._on_commit)
        self._faults = Faults(self._wake_watchers)
        self._log = RequestLog()
        self._ctx = Context(
            self._store, self._faults, self._log, token, bookmark_interval, self._alloc, watch_list
        )
        self._port = port
        self._want_tls = tls
        if tls:
            require_trustme()  # fail here, with what to install, rather than at start()
        if client_certs and not tls:
            raise ValueError("client_certs needs tls=True")
        self._client_certs = client_certs
        self._tls: TLSMaterial | None = None
        self._httpd: APIHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: Path | None = None
        for obj in objects:
            self.create(obj)

    def _on_commit(self, res: Resource, prev: Obj | None, new: Obj | None) -> None:
        if res is SERVICES:
            self._alloc.observe(prev, new)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeAPIServer:
        """Start serving (idempotent); returns self."""
        if self._httpd is not None:
            return self
        self._tmpdir = Path(tempfile.mkdtemp(prefix="fake-apiserver-"))
        if self._want_tls:
            self._tls = make_tls(self._tmpdir, "127.0.0.1", client_certs=self._client_certs)
            self._ctx.tls = self._tls.context
        self._httpd = APIHTTPServer(("127.0.0.1", self._port), self._ctx)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-apiserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection, open watches included (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._ctx.stopping.set()
        self._store.close()
        httpd.shutdown()
        with self._ctx.lock:
            connections = list(self._ctx.connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    # -- connection details ---------------------------------------------------------------------

    def _running(self) -> APIHTTPServer:
        if self._httpd is None:
            raise RuntimeError("the fake API server is not running; call start()")
        return self._httpd

    @property
    def port(self) -> int:
        """The TCP port served on 127.0.0.1."""
        port: int = self._running().server_address[1]
        return port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``."""
        scheme = "https" if self._want_tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def token(self) -> str | None:
        """The bearer token required, if any."""
        return self._ctx.token

    @token.setter
    def token(self, value: str | None) -> None:
        # Requests from now on need the new token; open watches carry on.
        self._ctx.token = value

    @property
    def ca_path(self) -> Path | None:
        """The CA certificate (PEM file) to trust, with ``tls=True``."""
        return None if self._tls is None else self._tls.ca_path

    @property
    def ca_pem(self) -> bytes | None:
        """The CA certificate as PEM bytes, with ``tls=True``."""
        return None if self._tls is None else self._tls.ca_pem

    def kubeconfig(self, path: str | os.PathLike[str] | None = None, *, name: str = "fake") -> Path:
        """Write a kubeconfig for this server (context ``name``, current) and return its path.

        Without ``path`` it goes to the server's temporary directory (removed by ``stop``).
        """
        self._running()
        if path is None:
            assert self._tmpdir is not None
            path = self._tmpdir / "kubeconfig"
        client_cert = None
        if self._tls is not None and self._tls.client_cert_path and self._tls.client_key_path:
            client_cert = (
                self._tls.client_cert_path.read_bytes(),
                self._tls.client_key_path.read_bytes(),
            )
        config = kubeconfig_dict(
            self.url, ca_pem=self.ca_pem, token=self.token, name=name, client_cert=client_cert
        )
        return write_kubeconfig(path, config)

    def configuration(self) -> Configuration:
        """A ``kubernetes.client.Configuration`` for this server."""
        from kubernetes import client

        config = client.Configuration()
        config.host = self.url
        if self._tls is not None:
            config.ssl_ca_cert = str(self._tls.ca_path)
            config.verify_ssl = True
            if self._tls.client_cert_path is not None:
                config.cert_file = str(self._tls.client_cert_path)
                config.key_file = str(self._tls.client_key_path)
        if self.token is not None:
            config.api_key = {"authorization": self.token}
            config.api_key_prefix = {"authorization": "Bearer"}
        return config

    def api_client(self) -> ApiClient:
        """A ``kubernetes.client.ApiClient`` configured for this server (close it when done)."""
        from kubernetes import client

        return client.ApiClient(self.configuration())

    # -- objects (stored as given: no defaulting or allocation, unlike over HTTP) ---------------

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        return self._store.rv

    def create(self, obj: object) -> dict[str, Any]:
        """Create an object (dict, JSON or ``kubernetes`` model; its kind picks the resource).

        Sets uid, creationTimestamp and resourceVersion; namespace defaults to ``default``.
        Raises ``StatusError`` (409 AlreadyExists, 400/422 for a bad object).
        """
        data = to_dict(obj)
        res = for_object(data)
        return deep(self._store.create(res, normalize(res, data, None)))

    def replace(self, obj: object) -> dict[str, Any]:
        """Replace an object; 409 Conflict if it names a stale ``metadata.resourceVersion``,
        404 if absent (raised as ``StatusError``)."""
        data = to_dict(obj)
        res = for_object(data)
        new = normalize(res, data, None)
        key = (new["metadata"]["namespace"] if res.namespaced else "", new["metadata"]["name"])
        return deep(self._store.update(res, key, lambda _cur: new))

    def apply(self, obj: object) -> dict[str, Any]:
        """Create the object, or replace it (whatever its resourceVersion) if it exists."""
        data = to_dict(obj)
        res = for_object(data)
        new = normalize(res, data, None)
        key = (new["metadata"].get("namespace", ""), new["metadata"].get("name", ""))
        with self._store.cond:
            if self._store.get(res, key) is None:
                return deep(self._store.create(res, new))
            return deep(self._store.update(res, key, lambda _cur: new, check_rv=False))

    def patch(
        self,
        kind_or_resource: str | Resource,
        namespace: str,
        name: str,
        patch: Any,
        *,
        content_type: str = MERGE,
    ) -> dict[str, Any]:
        """Patch an object (merge patch by default; JSON patch with its content type)."""
        res = _resource(kind_or_resource)

        def change(cur: Obj) -> Obj:
            new = apply_patch(cur, content_type, patch)
            if not isinstance(new, dict):
                raise StatusError(_status.bad_request("the patched object is not an object"))
            return new

        return deep(self._store.update(res, (namespace, name), change))

    def delete(self, kind_or_resource: str | Resource, namespace: str, name: str) -> dict[str, Any]:
        """Delete an object and return its last state; ``StatusError`` 404 if absent."""
        return deep(self._store.delete(_resource(kind_or_resource), (namespace, name)))

    def get(
        self, kind_or_resource: str | Resource, namespace: str, name: str
    ) -> dict[str, Any] | None:
        """One object (a copy), or None."""
        obj = self._store.get(_resource(kind_or_resource), (namespace, name))
        return None if obj is None else deep(obj)

    def objects(
        self,
        kind_or_resource: str | Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """The current objects of a resource (copies, sorted by namespace and name, with their
        kind and apiVersion)."""
        res = _resource(kind_or_resource)
        query = Query(
            namespace, LabelSelector.parse(label_selector), FieldSelector.parse(field_selector)
        )
        items = list_objects(self._store, res, query, {})["items"]
        return [{"kind": res.kind, "apiVersion": res.api_version, **deep(i)} for i in items]

    def load(self, objects: Iterable[Mapping[str, Any]]) -> int:
        """``apply`` each object; returns how many."""
        count = 0
        for obj in objects:
            self.apply(obj)
            count += 1
        return count

    def compact(self, resource_version: int | None = None) -> int:
        """Expire history up to ``resource_version`` (default: now): watches and continue tokens
        from older versions then get 410 Expired. Returns the compacted version."""
        return self._store.compact(resource_version)

    # -- watches --------------------------------------------------------------------------------

    @property
    def active_watches(self) -> int:
        """How many watch streams are open."""
        return len(self._store.watchers())

    def wait_for_watches(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` watches are open; False on timeout."""
        with self._store.cond:
            return self._store.cond.wait_for(lambda: len(self._store.watchers()) >= count, timeout)

    def bookmark_now(self) -> int:
        """Send a BOOKMARK now on every open watch that allows bookmarks; returns how many."""
        rv = self._store.rv
        sent = 0

        def bookmark(watcher: Watcher) -> None:
            nonlocal sent
            if watcher.bookmarks:
                watcher.bookmark(rv)
                sent += 1

        self._store.signal(bookmark)
        return sent

    def _wake_watchers(self) -> None:
        self._store.signal(lambda _watcher: None)

    # -- fault injection ------------------------------------------------------------------------

    def drop_watches(self) -> int:
        """Cut every open watch connection abruptly (no end chunk); returns how many."""

        def drop(watcher: Watcher) -> None:
            watcher.dropped = True
            if watcher.on_drop is not None:
                watcher.on_drop()

        return self._store.signal(drop)

    def lose_events(self, n: int = 1) -> None:
        """The next ``n`` changes of the server vanish from every open watch stream, while the
        server's state still changes: the missed-update fault an audit exists to catch."""
        self._store.lose_events(n)

    def send_garbage(self) -> int:
        """Write a line that is not JSON to every open watch; returns how many."""
        return self._store.signal(lambda watcher: watcher.queue.append((GARBAGE, {})))

    def send_oversized(self, size: int) -> int:
        """Write one watch event line of ``size`` bytes to every open watch (a MODIFIED event of
        an object that is not stored, ``default/oversized``, padded by an annotation); returns
        how many. The line is written in pieces as the client reads it, so a client that stops
        reading makes the write fail (``oversized_bytes_written`` says how much got out)."""
        return self._store.signal(lambda watcher: watcher.queue.append((OVERSIZED, {"size": size})))

    def oversize_next_lists(
        self, n: int = 1, size: int = 1 << 20, *, announce: bool = False
    ) -> None:
        """Pad the next ``n`` list answers with spaces (still valid JSON) to ``size`` bytes,
        written in pieces: chunked, or with their ``Content-Length`` when ``announce``."""
        self._faults.oversize_next_lists(n, size, announce)

    @property
    def oversized_bytes_written(self) -> int:
        """Bytes of ``send_oversized`` lines and ``oversize_next_lists`` padding written so far:
        less than was asked when a client stopped reading."""
        return self._faults.oversized_written

    def fail_next(self, n: int = 1, code: int = 500, *, verbs: Iterable[str] | None = None) -> None:
        """Answer the next ``n`` requests (only those of ``verbs``, e.g. ``{"list"}``, if given)
        with a ``code`` Status (500 InternalError by default)."""
        self._faults.fail_next(n, code, verbs)

    def stall_watches(self, seconds: float | None = None) -> None:
        """Open watches send nothing, not even bookmarks, for ``seconds`` (None: until
        ``resume_watches``). Events are kept and sent afterwards."""
        self._faults.stall(seconds)

    def resume_watches(self) -> None:
        """End ``stall_watches``."""
        self._faults.resume()

    def delay(self, seconds: float) -> None:
        """Delay every response by ``seconds`` (0 turns it off)."""
        self._faults.delay = seconds

    # -- observation ----------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """Requests per verb (``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``,
        ``delete``, ``deletecollection``, ``discovery``, ``other``), ``writes`` and ``total``."""
        return self._log.counts()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first."""
        return self._log.records()

    def reset_stats(self) -> None:
        """Forget the requests counted so far."""
        self._log.reset()

    def wait_for_requests(self, verb: str, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` requests of ``verb`` were answered; False on timeout."""
        return self._log.wait(verb, count, timeout)

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<FakeAPIServer {where} rv={self.resource_version}>"
