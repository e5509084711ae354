#!/usr/bin/env bash
# Compose lab only: a CA and one broker certificate (kafka-1..3) made with keytool, once, into two volumes:
# /tls (the brokers' keystore, for the brokers only) and /ca (the CA certificate, for every client).
# Production brings certificates from its own PKI (deploy/k8s: Secret rehab-kafka-ca).
set -euo pipefail
[ -f /tls/broker.p12 ] && [ -f /ca/ca.crt ] && exit 0
pw=${KAFKA_TLS_PASSWORD:?set KAFKA_TLS_PASSWORD}
cd /tmp
keytool -genkeypair -alias ca -keyalg RSA -keysize 3072 -dname CN=rehab-lab-ca -ext bc:c -validity 825 \
  -keystore ca.p12 -storetype PKCS12 -storepass "$pw" -keypass "$pw"
keytool -exportcert -rfc -alias ca -keystore ca.p12 -storepass "$pw" > ca.crt
keytool -genkeypair -alias broker -keyalg RSA -keysize 3072 -dname CN=kafka -validity 825 \
  -keystore broker.p12 -storetype PKCS12 -storepass "$pw" -keypass "$pw"
keytool -certreq -alias broker -keystore broker.p12 -storepass "$pw" \
  | keytool -gencert -rfc -alias ca -keystore ca.p12 -storepass "$pw" -validity 825 \
      -ext SAN=dns:kafka-1,dns:kafka-2,dns:kafka-3 -ext ku:c=digitalSignature,keyEncipherment \
      -ext eku=serverAuth,clientAuth > broker.crt
keytool -importcert -noprompt -alias ca -file ca.crt -keystore broker.p12 -storepass "$pw"
keytool -importcert -alias broker -file broker.crt -keystore broker.p12 -storepass "$pw"
install -m 0644 ca.crt /ca/ca.crt
install -m 0640 -g 1000 broker.p12 /tls/broker.p12  # the apache/kafka image runs as uid/gid 1000
