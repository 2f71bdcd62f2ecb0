/**
 * TCP_NODELAY on an mqtt.js client's socket. The broker side matters most
 * (aedes is created with noDelay, Mosquitto configs set set_tcp_nodelay), but
 * without it a burst of small publishes from a client can wait for the
 * broker's delayed ACK (~40 ms) under Nagle's algorithm.
 */
import type { MqttClient } from 'mqtt';

export function setNoDelayOnConnect(client: MqttClient): void {
  client.on('connect', () => {
    const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
    stream?.setNoDelay?.(true);
  });
}
