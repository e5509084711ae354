"""A Kafka of the test's own: one or three KRaft nodes (broker + controller each) that a test may kill or freeze.

The nodes run from the jars `make platform` fetched from Maven Central (`.local/kafka/libs-<version>`), with
data directories under the test's temporary directory, on ports no other process uses. The platform's own
broker on 9092 is never touched. They are secured as the platform's broker is (deploy/local/kafka/
server.properties.in): SASL/SCRAM-SHA-512 for clients and between brokers, SASL/PLAIN between controllers, ACLs;
the admin, created when the storage is formatted, is the identity the services and the checks use.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from shared.base.settings import PlatformSettings
from shared.kernel.kafka import kafka_reachable
from tests.harness import ROOT
from tests.support.ports import free_base_port

__all__ = ["KafkaCluster", "free_base_port"]

HOST = "127.0.0.1"
ADMIN, PASSWORD = "admin", "test-cluster-admin"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


def kafka_libs() -> Path:
    local = Path(os.environ.get("REHAB_LOCAL", ROOT / ".local"))
    found = sorted((local / "kafka").glob("libs-*"))
    if not found:
        raise RuntimeError("no Kafka jars under .local/kafka: run `make platform` first")
    return found[-1]


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def conf(self) -> Path:
        return self.home / "server.properties"


class KafkaCluster:
    """`size` nodes on ports base, base+1, ... (clients) and base+10, ... (controllers)."""

    def __init__(self, home: Path, size: int, base_port: int) -> None:
        self.size, self.home = size, home
        self.nodes = [KafkaNode(i + 1, base_port + i, base_port + 10 + i, home / f"node-{i + 1}") for i in range(size)]
        self.libs = kafka_libs()

    @property
    def bootstrap(self) -> str:
        return ",".join(n.address for n in self.nodes)

    @property
    def env(self) -> dict[str, str]:
        """What the services need to use this cluster (replicated topics when there are three nodes)."""
        env = {"REHAB_KAFKA_BOOTSTRAP": self.bootstrap, "REHAB_TOPIC_REPLICATION": str(min(self.size, 3))}
        env |= {
            "REHAB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "REHAB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "REHAB_KAFKA_USERNAME": ADMIN,
            "REHAB_KAFKA_PASSWORD": PASSWORD,
        }
        if self.size >= 3:
            env["REHAB_TOPIC_MIN_INSYNC_REPLICAS"] = "2"
        return env

    @property
    def overrides(self) -> dict[str, str]:
        """`env` as settings fields (`ServiceSettings.for_service(name, **cluster.overrides)`)."""
        return {key.removeprefix("REHAB_").lower(): value for key, value in self.env.items()}

    def _properties(self, node: KafkaNode) -> str:
        voters = ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in self.nodes)
        rf, isr = (3, 2) if self.size >= 3 else (1, 1)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={node.node_id}",
                f"controller.quorum.voters={voters}",
                f"listeners=CLIENT://{node.address},CONTROLLER://{HOST}:{node.controller_port}",
                f"advertised.listeners=CLIENT://{node.address}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
                "inter.broker.listener.name=CLIENT",
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                "sasl.mechanism.controller.protocol=PLAIN",
                f'listener.name.client.scram-sha-512.sasl.jaas.config={SCRAM} required username="{ADMIN}" '
                f'password="{PASSWORD}";',
                "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
                f'listener.name.controller.plain.sasl.jaas.config={PLAIN} required username="{ADMIN}" '
                f'password="{PASSWORD}" user_{ADMIN}="{PASSWORD}";',
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found=false",
                f"super.users=User:{ADMIN}",
                f"log.dirs={node.home / 'data'}",
                f"default.replication.factor={rf}",
                f"min.insync.replicas={isr}",
                f"offsets.topic.replication.factor={rf}",
                "offsets.topic.num.partitions=6",
                f"transaction.state.log.replication.factor={rf}",
                f"transaction.state.log.min.isr={isr}",
                f"share.coordinator.state.topic.replication.factor={rf}",
                f"share.coordinator.state.topic.min.isr={isr}",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "num.network.threads=2",
                "num.io.threads=2",
                "",
            ]
        )

    def _java(self, *args: str) -> list[str]:
        log4j = ROOT / "deploy" / "local" / "kafka" / "log4j2.properties"
        return [
            "java",
            "-Xms64m",
            "-Xmx384m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.libs}/*",
            *args,
        ]

    async def start(self) -> None:
        """Format every node's storage with one cluster id, start them all, wait until all answer."""
        cluster_id = "-"
        while cluster_id.startswith("-"):  # the storage tool would take a leading dash for an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        for node in self.nodes:
            node.home.mkdir(parents=True, exist_ok=True)
            node.conf.write_text(self._properties(node))
            formatted = await asyncio.create_subprocess_exec(
                *self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(node.conf),
                    "--add-scram",
                    f"SCRAM-SHA-512=[name={ADMIN},password={PASSWORD}]",
                ),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await formatted.communicate()
            if formatted.returncode != 0:
                raise RuntimeError(f"kafka storage format failed for node {node.node_id}: {out.decode()[-2000:]}")
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            await self.wait_ready(node)

    def _spawn(self, node: KafkaNode) -> None:
        with (node.home / "kafka.log").open("ab") as out:
            node.process = subprocess.Popen(
                self._java(f"-Dkafka.logs.dir={node.home}", "kafka.Kafka", str(node.conf)),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self, node: KafkaNode, timeout: float = 120) -> None:
        """Until the node answers a logged-in client; fail with its log if it died or took too long."""
        settings = PlatformSettings(
            kafka_bootstrap=node.address,
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_username=ADMIN,
            kafka_password=SecretStr(PASSWORD),
        )
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if node.process is not None and node.process.poll() is not None:
                break
            if await kafka_reachable(settings, timeout=3):
                return
            await asyncio.sleep(0.5)
        log = (node.home / "kafka.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"Kafka node {node.node_id} did not become ready:\n{log}")

    def kill(self, index: int = 0) -> None:
        """SIGKILL one node: no shutdown, no flush; whatever it had not fsynced is the OS's problem."""
        process = self.nodes[index].process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)

    async def restart(self, index: int = 0) -> None:
        node = self.nodes[index]
        self.kill(index)
        self._spawn(node)
        await self.wait_ready(node)

    def freeze(self, index: int = 0) -> None:
        """SIGSTOP: the node stops answering while its sockets stay open (a black-holed network)."""
        process = self.nodes[index].process
        if process is not None:
            os.killpg(process.pid, signal.SIGSTOP)

    def thaw(self, index: int = 0) -> None:
        process = self.nodes[index].process
        if process is not None:
            os.killpg(process.pid, signal.SIGCONT)

    def close(self) -> None:
        for index, node in enumerate(self.nodes):
            self.thaw(index)
            if node.process is not None and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
                try:
                    node.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.kill(index)
