"""The local control plane: real etcd, kube-*, kwok, Tekton and Triggers processes on 127.0.0.1.

Driven by cluster/ctl.py (make cluster-up / cluster-down) and by the end-to-end test fixture.
"""
