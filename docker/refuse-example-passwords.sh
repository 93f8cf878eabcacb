#!/bin/sh
# Start the given command only if no password is still the public example of .env.example.
#
# The entrypoint of the mongo service and of the hpsearch image, so that `docker compose up`
# with an unedited copy of .env.example stops at once with one clear line.
set -eu

EXAMPLE_PASSWORD="change-me"

refuse() {
    echo "refusing to start: $1 is still the example password of .env.example;" \
         "set a password of your own in .env" >&2
    exit 78  # EX_CONFIG
}

for name in MONGO_INITDB_ROOT_PASSWORD HPSEARCH_DB_PASSWORD; do
    eval "value=\${$name-}"
    [ "$value" != "$EXAMPLE_PASSWORD" ] || refuse "$name"
done
case "${HPSEARCH_STORE-}" in
    *":$EXAMPLE_PASSWORD@"*) refuse "the password in HPSEARCH_STORE" ;;
esac

exec "$@"
