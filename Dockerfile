# hpsearch on a CUDA-enabled PyTorch base: the image for the driver and the GPU workers.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

WORKDIR /opt/hpsearch
COPY setup.cfg pyproject.toml README.md ./
COPY search ./search
COPY objectives ./objectives
COPY spaces ./spaces
RUN pip install --no-cache-dir .
COPY docker/refuse-example-passwords.sh /usr/local/bin/refuse-example-passwords.sh

# Trials run as an unprivileged user: training code never needs root. /spool, where a worker
# keeps results until the database has them, is its own (compose mounts a volume there).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin hpsearch \
    && install -d -o hpsearch -g hpsearch /spool
USER hpsearch
WORKDIR /home/hpsearch

# Workers finish their trial on SIGTERM (docker stop); docker-compose.yml gives them the time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["refuse-example-passwords.sh"]
CMD ["hpsearch", "--help"]
