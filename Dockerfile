# tekton-runner service image. Build: docker build -t tekton-runner .   (or: buildah bud -t tekton-runner .)
# Without Docker or a registry to pull from, `make image` builds an equivalent image from Debian's packages
# (cluster/image.py, docs/install.md "The image").
# Dependencies come from requirements.lock (pinned with hashes; regenerate with the pip-compile command at its
# top after changing pyproject.toml). The base image is pinned by the digest of its multi-platform index as
# docker-library/repo-info (the official images' published record, repos/python/remote/3.11-slim-bookworm.md)
# lists it: Python 3.11.16, built 2026-08-25, linux/amd64 manifest sha256:2fc9207f64226cb05ac317cee0bab6fa55a9ea311ce5a086baddd4b4a83c2d3c.
# It was not pulled here (this machine reaches no image registry). To move it, resolve the new digest
# (skopeo inspect docker://python:3.11-slim-bookworm | jq -r .Digest) and change PYTHON_IMAGE.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# The locked dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN python -m venv /opt/tekton-runner \
 && /opt/tekton-runner/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY tekton_runner ./tekton_runner
COPY manifests ./manifests
RUN /opt/tekton-runner/bin/pip install --no-cache-dir --no-deps . \
 && /opt/tekton-runner/bin/pip uninstall --yes pip

# The final image gets the virtualenv only: no wheels, no build tools, no pip.
FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tekton-runner --create-home runner
COPY --from=build /opt/tekton-runner /opt/tekton-runner
ENV PATH=/opt/tekton-runner/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    TEKTON_RUNNER_DATA_DIR=/var/lib/tekton-runner
USER 10001
VOLUME ["/var/lib/tekton-runner"]
# 8088: the API, /metrics and Tekton's CloudEvents sink (TEKTON_RUNNER_PORT).
# 18000-18999: the external ports the relay opens per app (TEKTON_RUNNER_EXTERNAL_PORT_RANGE); they are
# only reachable where the runner owns the host's network (host mode, deploy/systemd). The in-cluster
# install (deploy/) sets TEKTON_RUNNER_FORWARD=false and publishes 8088 only.
EXPOSE 8088 18000-18999
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8088/healthz', timeout=3)" || exit 1
ENTRYPOINT ["tekton-runner"]
CMD ["serve"]
