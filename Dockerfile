# tekton-runner service image. Build: docker build -t tekton-runner .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tekton_runner ./tekton_runner
COPY manifests ./manifests
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/tekton-runner --create-home runner
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
ENV TEKTON_RUNNER_DATA_DIR=/var/lib/tekton-runner
VOLUME ["/var/lib/tekton-runner"]
EXPOSE 8088
HEALTHCHECK CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8088/healthz', timeout=3)" || exit 1
ENTRYPOINT ["tekton-runner"]
CMD ["serve"]
