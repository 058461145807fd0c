#!/usr/bin/env bash
# Start the local PostgreSQL and MariaDB servers the tests use, if they are down, and
# install Debian's Chromium and ChromeDriver (the inspector's browser tests) if missing.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
maria_up() { mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; }

wait_for() { # name check-fn
  for _ in $(seq 1 30); do "$2" && return 0; sleep 1; done
  echo "ensure-services: $1 did not come up" >&2; return 1
}

if ! pg_up; then
  echo "ensure-services: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for PostgreSQL pg_up
fi
if ! maria_up; then
  echo "ensure-services: starting MariaDB" >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB maria_up
fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "ensure-services: installing chromium and chromium-driver" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq >/dev/null \
    && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
    || { echo "ensure-services: could not install chromium and chromium-driver" >&2; exit 1; }
fi
exit 0
