#!/usr/bin/env bash
# Installs the system tools the test suite reaches for real: Debian's kcat, whose librdkafka
# mock cluster is our Kafka. Idempotent; does nothing when everything is there.
set -euo pipefail
if ! command -v kcat >/dev/null 2>&1; then
  echo "test: installing kcat (librdkafka's mock Kafka cluster) from Debian's packages" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update && apt-get install -y kcat
  else
    sudo apt-get update && sudo apt-get install -y kcat
  fi
fi
