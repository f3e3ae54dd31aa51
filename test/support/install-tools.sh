#!/usr/bin/env bash
# Installs the system tools the test suite reaches for real: Debian's kcat, whose librdkafka
# mock cluster is our Kafka; Debian's prometheus (with promtool), which scrapes `sparkfn serve` and
# checks the alert rules; Debian's chromium, the headless browser the page tests drive through
# playwright-core. Idempotent; does nothing when everything is there.
set -euo pipefail
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
# python3 hosts the mock cluster through kcat's librdkafka when a test needs more than the
# mock's fixed 4 partitions (test/support/kafka-mock.ts).
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]} from Debian's packages (kcat brings librdkafka's mock Kafka cluster)" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    sudo apt-get update && sudo apt-get install -y "${missing[@]}"
  fi
fi
exit 0
