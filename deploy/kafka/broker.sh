#!/usr/bin/env bash
# Compose lab: one KRaft node (broker + controller) of three, secured as in production: SASL_SSL everywhere,
# SCRAM-SHA-512 for clients and between brokers, SASL/PLAIN (the admin, from this configuration) between
# controllers, ACLs with nothing allowed by default. The admin's SCRAM credential is written when the storage
# is formatted, so brokers can replicate before any tool has run; the platform job adds the services' users.
set -euo pipefail
: "${KAFKA_NODE_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_TLS_PASSWORD:?}" "${KAFKA_CLUSTER_ID:?}"
conf=/tmp/server.properties admin=admin
scram="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$admin\" password=\"$KAFKA_ADMIN_PASSWORD\";"
plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$admin\" password=\"$KAFKA_ADMIN_PASSWORD\" user_$admin=\"$KAFKA_ADMIN_PASSWORD\";"
umask 077
cat > "$conf" <<PROPERTIES
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093
listeners=CLIENT://:9092,CONTROLLER://:9093
advertised.listeners=CLIENT://kafka-$KAFKA_NODE_ID:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:SASL_SSL,CLIENT:SASL_SSL
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.client.scram-sha-512.sasl.jaas.config=$scram
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$plain
ssl.keystore.type=PKCS12
ssl.keystore.location=/tls/broker.p12
ssl.keystore.password=$KAFKA_TLS_PASSWORD
ssl.key.password=$KAFKA_TLS_PASSWORD
ssl.truststore.type=PEM
ssl.truststore.location=/ca/ca.crt
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$admin
log.dirs=/tmp/kafka-data
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
auto.create.topics.enable=false
log.retention.ms=-1
PROPERTIES
cat > /tmp/client.properties <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$scram
ssl.truststore.type=PEM
ssl.truststore.location=/ca/ca.crt
PROPERTIES
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$KAFKA_CLUSTER_ID" -c "$conf" \
  --add-scram "SCRAM-SHA-512=[name=$admin,password=$KAFKA_ADMIN_PASSWORD]"
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
