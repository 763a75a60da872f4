#!/usr/bin/env python3
"""Offline checks of deploy/kubernetes/*.yaml (no cluster, no Docker on the build machine).

Parses every YAML document (PyYAML) and checks what the sidecar design depends on: cacheai runs as
a native sidecar (initContainer, restartPolicy: Always); its startup/readiness/liveness probes are
gRPC probes on the --health-port it is started with, readiness on the service cacheai.ready;
terminationGracePeriodSeconds covers preStop sleep + --drain-timeout-seconds; resources are set and
-Xmx fits under the memory limit; the root filesystem is read-only with /tmp and the model
repository mounted. Exit 0 when every check passes, 1 with one line per failure otherwise.

Usage: python3 tools/deploy/check_manifests.py [deploy/kubernetes]
"""
import pathlib
import re
import sys

import yaml

UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def mem_bytes(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", str(q))
    if not m:
        raise ValueError(f"memory quantity {q!r} not in Ki/Mi/Gi")
    return int(m.group(1)) * UNITS[m.group(2)]


def flag(args, name):
    for a in args:
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def check_pod(where, spec, errors):
    sidecars = [c for c in spec.get("initContainers", []) if c.get("name") == "cacheai"]
    if len(sidecars) != 1:
        errors.append(f"{where}: expected one initContainer named cacheai")
        return
    c = sidecars[0]
    if c.get("restartPolicy") != "Always":
        errors.append(f"{where}: cacheai initContainer needs restartPolicy: Always (native sidecar)")
    args = c.get("args", [])
    health_port = int(flag(args, "--health-port") or 0)
    if health_port <= 0:
        errors.append(f"{where}: --health-port must be set for kubelet gRPC probes")
    if flag(args, "--bind") not in (None, "127.0.0.1"):
        errors.append(f"{where}: inference should bind 127.0.0.1 inside the pod")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = (c.get(probe) or {}).get("grpc")
        if not grpc:
            errors.append(f"{where}: {probe} must be a grpc probe")
            continue
        if grpc.get("port") != health_port:
            errors.append(f"{where}: {probe} port {grpc.get('port')} != --health-port {health_port}")
        want = "" if probe == "livenessProbe" else "cacheai.ready"
        if grpc.get("service", "") != want:
            errors.append(f"{where}: {probe} service {grpc.get('service', '')!r} != {want!r}")
    drain = int(flag(args, "--drain-timeout-seconds") or 20)
    pre = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command", [])
    pre_sleep = int(pre[1]) if len(pre) == 2 and pre[0] == "sleep" else 0
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace < pre_sleep + drain:
        errors.append(f"{where}: terminationGracePeriodSeconds {grace} < preStop {pre_sleep} + drain {drain}")
    res = c.get("resources", {})
    try:
        req = mem_bytes(res["requests"]["memory"])
        lim = mem_bytes(res["limits"]["memory"])
        if req > lim:
            errors.append(f"{where}: memory request above limit")
        opts = " ".join(e.get("value", "") for e in c.get("env", []) if e.get("name") == "JAVA_TOOL_OPTIONS")
        xmx = re.search(r"-Xmx(\d+)([mg])", opts)
        if not xmx:
            errors.append(f"{where}: JAVA_TOOL_OPTIONS should set -Xmx")
        elif int(xmx.group(1)) * (2**20 if xmx.group(2) == "m" else 2**30) >= lim:
            errors.append(f"{where}: -Xmx does not fit under the memory limit")
    except (KeyError, ValueError) as e:
        errors.append(f"{where}: resources: {e}")
    sc = c.get("securityContext", {})
    if not sc.get("readOnlyRootFilesystem"):
        errors.append(f"{where}: readOnlyRootFilesystem must be true")
    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    repo = flag(args, "--model-repository")
    for path in ["/tmp"] + ([repo] if repo else []):
        if path not in mounts:
            errors.append(f"{where}: {path} must be a mounted volume")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/kubernetes")
    errors, pods = [], 0
    for path in sorted(root.glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if not doc:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    errors.append(f"{path}#{i}: missing {key}")
            spec = doc.get("spec", {})
            pod = spec.get("template", {}).get("spec") if doc.get("kind") != "Pod" else spec
            if pod:
                pods += 1
                check_pod(f"{path}#{i} {doc['kind']}/{doc['metadata']['name']}", pod, errors)
    if pods == 0:
        errors.append(f"{root}: no pod template found")
    for e in errors:
        print(e)
    print(f"checked {pods} pod template(s) under {root}: {'FAIL' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
