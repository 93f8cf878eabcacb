# hpsearch on a CUDA-enabled PyTorch base: the image for the driver and the GPU workers.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

WORKDIR /opt/hpsearch
COPY setup.cfg pyproject.toml README.md ./
COPY search ./search
COPY objectives ./objectives
COPY spaces ./spaces
RUN pip install --no-cache-dir .

# Workers finish their trial on SIGTERM (docker stop); give them a trial's time to do so.
STOPSIGNAL SIGTERM
ENTRYPOINT []
CMD ["hpsearch", "--help"]
