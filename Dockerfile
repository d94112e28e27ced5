# The context-handoff CLI (and its web API, `serve`) in a small image that runs offline
# (--network none) as any uid.
# Built from a wheelhouse prepared on the host (`make image`), so a machine without a
# container registry or package index can build it: pass a local base as BASE_IMAGE.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
COPY wheelhouse/ /wheelhouse/
RUN python3 -m venv /opt/context-handoff \
    && /opt/context-handoff/bin/pip install --no-cache-dir --no-index \
        --find-links /wheelhouse 'context-handoff[web]' \
    && /opt/context-handoff/bin/pip uninstall --yes pip setuptools \
    && find /opt/context-handoff -name '__pycache__' -prune -exec rm -rf {} +

FROM ${BASE_IMAGE}
COPY --from=build /opt/context-handoff /opt/context-handoff
# the tokenizer's BPE files, checked against tiktoken's sha256 by scripts/fetch_encodings.py
COPY .cache/tiktoken/ /opt/context-handoff/tiktoken/
# DL3064 reads "TOKEN" in TIKTOKEN_CACHE_DIR as a secret; it is a folder of public BPE files
# hadolint ignore=DL3064
ENV PATH=/opt/context-handoff/bin:$PATH \
    TIKTOKEN_CACHE_DIR=/opt/context-handoff/tiktoken \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["context-handoff"]
CMD ["--help"]
