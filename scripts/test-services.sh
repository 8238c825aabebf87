#!/usr/bin/env bash
# What the test suite needs besides Python packages: the local PostgreSQL server
# (127.0.0.1:5432, user postgres), Debian's headless Chromium for the browser tests, and
# Tesseract with the OCR-B font for the identity-document (MRZ) tests.
# Run by `make test`; harmless when both are already there.
set -uo pipefail

start_postgres() {
  if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
    return 0
  fi
  echo "PostgreSQL is down; starting it"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0
    sleep 1
  done
  echo "PostgreSQL did not start; the PostgreSQL tests will fail" >&2
}

install_chromium() {
  # tests/integration/web/test_chromium.py drives Debian's headless Chromium; it fails,
  # not skips, without it.
  command -v chromium >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "chromium is missing: install Debian's 'chromium' package (the browser tests need it)" >&2
    return 0
  fi
  echo "Installing Debian's chromium for the browser tests"
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
    || echo "chromium could not be installed; the browser tests will fail" >&2
}

install_fonts() {
  # The receipt test that prints every script embeds DejaVu Sans.
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && return 0
  [ "$(id -u)" = 0 ] || { echo "install Debian's fonts-dejavu-core for the receipt tests" >&2; return 0; }
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-dejavu-core) \
    || echo "fonts-dejavu-core could not be installed; a receipt test will fail" >&2
}

install_ocr() {
  # The MRZ reader runs Debian's tesseract binary (the MRZ model is vendored in
  # documents/tessdata); the tests draw their fictional documents in OCR-B. Without
  # them those tests fail, not skip.
  command -v tesseract >/dev/null && [ -e /usr/share/fonts/opentype/ocr-b/OCRB.otf ] && return 0
  [ "$(id -u)" = 0 ] || { echo "install Debian's tesseract-ocr and fonts-ocr-b for the MRZ tests" >&2; return 0; }
  echo "Installing Debian's tesseract-ocr and fonts-ocr-b for the identity-document tests"
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q tesseract-ocr fonts-ocr-b) \
    || echo "tesseract-ocr/fonts-ocr-b could not be installed; the MRZ tests will fail" >&2
}

start_postgres
install_chromium
install_fonts
install_ocr
