#!/usr/bin/env bash
# Debian packages the tests use: real public VCFs (1000 Genomes, Platinum Genomes) and bcftools
# as the reference for VCF checks. Installed when missing and we may (root); otherwise say how.
set -euo pipefail
need=()
[ -d /usr/share/doc/python3-vcf/test ] || need+=(python-pyvcf-examples)
[ -d /usr/share/doc/vcfanno-examples ] || need+=(vcfanno-examples)
command -v bcftools >/dev/null 2>&1 || need+=(bcftools)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
else
  echo "note: tests on real files need: sudo apt-get install ${need[*]} (they are skipped without)" >&2
fi
