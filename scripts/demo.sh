#!/usr/bin/env bash
# The README's first command: tocsin's main job on the embedded default
# (SQLite in ./tocsin-data, no server). Ingests real threat-data samples,
# ingests them again (nothing is added twice), and shows what was stored.
set -euo pipefail
bin=${1:-bin/tocsin}
shared=${2:-../shared/data}
feeds="$shared/feeds"
if [ ! -d "$feeds" ]; then
  echo "(../shared/data is absent: using the samples shipped in testdata/demo)"
  feeds=testdata/demo
fi
ss="$feeds/intelmq/parsers@d624988/shadowserver/testdata"
[ -d "$ss" ] || ss="$feeds/shadowserver"

run() { echo; echo "\$ $*"; "$@"; }

# The demo's configuration: the notifier's sender, routes and a mute.
export TOCSIN_CONFIG=${TOCSIN_CONFIG:-testdata/demo/tocsin.yaml}
data=${TOCSIN_DATA_DIR:-./tocsin-data}

# Every Shadowserver sample but phish_url.csv, a report type Shadowserver
# has retired (tocsin says so and refuses it: try it).
samples=$(ls "$ss"/*.csv | grep -v '/phish_url\.csv$')
# The constituency and the reference data first, so that every event gets
# its AS, country, owner and contact.
run "$bin" constituents import testdata/demo/constituents.yaml
ipdb="$shared/ipdb"
if [ -d "$ipdb" ]; then
  run "$bin" data import asn "$ipdb/ip-location-db-asn/asn-ipv4.csv" "$ipdb/ip-location-db-asn/asn-ipv6.csv"
  run "$bin" data import geo "$ipdb/ip-location-db-geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb"
fi

run "$bin" ingest --feed shadowserver $samples
for spec in \
  "abusech-feodo:$feeds/abusech/feodotracker_ipblocklist.2024-04-04.csv" \
  "abusech-sslbl:$feeds/abusech/sslbl_sslipblacklist.2015-10-15.csv" \
  "abusech-threatfox:$feeds/threatfox/threatfox_ioc_ips.2026-08-22.txt" \
  "phishtank:$feeds/phishtank/phishtank_verified_online.2021-03-14.csv"; do
  f=${spec#*:}
  [ -f "$f" ] && run "$bin" ingest --feed "${spec%%:*}" "$f"
done
echo; echo "# The same files again: already stored, nothing is added."
run "$bin" ingest --json --feed shadowserver $samples
run "$bin" reports list
run "$bin" events --limit 15
run "$bin" events --json --limit 1 --type infected-system
run "$bin" quarantine list --limit 10
run "$bin" events --org example-isp --limit 5
run "$bin" lookup 198.123.245.134 113.160.0.1 8.8.8.8 AS64500 www.hospital.example

echo; echo "# Notify the owners: the CSIRT's signing key, what would be sent, then the real run."
echo "# No SMTP server is configured, so the signed messages go to $data/outbox."
[ -f "$data/notify/signing-key.asc" ] || run "$bin" notify keygen >/dev/null
run "$bin" notify run --dry-run
run "$bin" notify run
run "$bin" notify list
first=$(ls "$data"/outbox/*.eml 2>/dev/null | head -1)
if [ -n "$first" ]; then
  echo; echo "\$ head -40 $first"; head -40 "$first"
fi
echo; echo "# A second run sends nothing: the notification log remembers."
run "$bin" notify run
run "$bin" report monthly --org example-isp --month 2022-01 --out "$data/example-isp-2022-01.csv"
echo
echo "Everything is in $data (tocsin.db, raw/, outbox/). Try: $bin notify show ID, $bin events --help"
