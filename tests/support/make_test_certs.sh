#!/usr/bin/env bash
# Writes the certificates the TLS tests use into DIR (openssl CLI, ECDSA
# P-256, valid for 30 days from now, made fresh on every run):
#   ca.pem ca.key                   the test CA
#   server.pem server.key           signed by it; SAN localhost and 127.0.0.1
#   client.pem client.key           a client certificate signed by it
#   rogue_ca.pem rogue_ca.key       another CA nobody trusts
#   rogue_client.pem rogue_client.key   a client certificate signed by that one
#   rogue_server.pem rogue_server.key   a server certificate signed by that one
#   junk.pem                        text that is neither certificate nor key
set -euo pipefail
dir=${1:?usage: make_test_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # ca NAME "CN"
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() {  # leaf NAME CA "CN" EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$1.ext" \
    -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

server_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1'
client_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

ca ca "lineserve test CA"
ca rogue_ca "lineserve rogue CA"
leaf server ca localhost "$server_ext"
leaf client ca "line-7 camera station" "$client_ext"
leaf rogue_client rogue_ca "intruder" "$client_ext"
leaf rogue_server rogue_ca localhost "$server_ext"
echo "not a certificate" > junk.pem
