#!/bin/sh
# Start the given command only if no password is still the public example of .env.example,
# and the application's user name and password can go into a mongodb:// URL as they are.
#
# The entrypoint of the mongo service and of the hpsearch image, so that `docker compose up`
# with an unedited copy of .env.example, or a password the services could not log in with,
# stops at once with one clear line.
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
# docker-compose.yml writes them into the services' URL unescaped, and mongo-init.js creates
# the user with them verbatim: a character a URL escapes would break the URL or the login.
for name in HPSEARCH_DB_USER HPSEARCH_DB_PASSWORD; do
    eval "value=\${$name-}"
    case "$value" in
        *[!A-Za-z0-9._~-]*)
            echo "refusing to start: $name holds a character that a mongodb:// URL would" \
                 "need escaped; use only letters, digits and - . _ ~ (make a password with:" \
                 "python3 -c 'import secrets; print(secrets.token_urlsafe(24))')" >&2
            exit 78 ;;
    esac
done

exec "$@"
