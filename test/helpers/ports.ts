/** A port that was free a moment ago, for processes a test starts on fixed ports. */
import { createServer } from 'node:net';

/** Binds port 0 on `host` with node:net, reads the port it got, closes. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * Free HTTP, gRPC and MQTT ports for a master process (`taskwire start` /
 * `master`) on 127.0.0.1 with its data in `dataDir`: the environment that
 * says so, and its HTTP URL.
 */
export async function masterPortsEnv(dataDir: string): Promise<{ env: Record<string, string>; httpUrl: string; ports: { http: number; grpc: number; mqtt: number } }> {
  const ports = { http: await freePort(), grpc: await freePort(), mqtt: await freePort() };
  return {
    ports,
    httpUrl: `http://127.0.0.1:${ports.http}`,
    env: {
      TASKWIRE_BIND_HOST: '127.0.0.1',
      TASKWIRE_HTTP_PORT: String(ports.http),
      TASKWIRE_GRPC_PORT: String(ports.grpc),
      TASKWIRE_MQTT_PORT: String(ports.mqtt),
      TASKWIRE_DATA_DIR: dataDir,
    },
  };
}
