# hpsearch on a CUDA-enabled PyTorch base: the image for the driver and the GPU workers.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# A C compiler, for --compile. torch.compile's CUDA backend, Triton, compiles a small C launcher
# per kernel while trials run, and the -runtime base has none (pytorch/pytorch#116696); g++ is
# for its CPU backend (--device cpu). Roughly 200 MB, where the -devel base would add the whole
# CUDA toolkit (about 5 GB compressed) that nothing here uses; and a build stage cannot hold the
# compiler, which is needed at run time. The base's conda Python has the headers it needs.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends \
        gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/hpsearch
COPY setup.cfg pyproject.toml README.md ./
COPY search ./search
COPY objectives ./objectives
COPY spaces ./spaces
RUN pip install --no-cache-dir .
COPY docker/refuse-example-passwords.sh /usr/local/bin/refuse-example-passwords.sh
COPY docker/check-compiler.py ./docker/check-compiler.py

# Trials run as an unprivileged user: training code never needs root. /spool, where a worker
# keeps results until the database has them, is its own (compose mounts a volume there).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin hpsearch \
    && install -d -o hpsearch -g hpsearch /spool
USER hpsearch
WORKDIR /home/hpsearch
# The build fails here, not at a worker's first --compile trial, if that user cannot compile.
RUN python /opt/hpsearch/docker/check-compiler.py

# Workers finish their trial on SIGTERM (docker stop); docker-compose.yml gives them the time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["refuse-example-passwords.sh"]
CMD ["hpsearch", "--help"]
