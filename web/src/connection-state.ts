/**
 * Live connection state of the Socket.IO client, as the header shows it.
 * `connecting` is only the very first attempt; afterwards the state is
 * connected, reconnecting (the client retries on its own) or disconnected
 * (it gave up, or the server closed the session).
 */
import type { Socket } from 'socket.io-client';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export const CONNECTION_LABELS: Readonly<Record<ConnectionState, string>> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
};

export function watchConnection(socket: Socket, onChange: (state: ConnectionState, detail?: string) => void): void {
  socket.on('connect', () => onChange('connected'));
  socket.on('disconnect', (reason) => {
    // The client reconnects by itself unless the server or this page ended the connection.
    if (socket.active) onChange('reconnecting', reason);
    else onChange('disconnected', reason);
  });
  socket.on('connect_error', (error) => {
    if (socket.active) onChange('reconnecting', error.message);
    else onChange('disconnected', error.message);
  });
  socket.io.on('reconnect_attempt', () => onChange('reconnecting'));
  socket.io.on('reconnect_failed', () => onChange('disconnected', 'gave up reconnecting'));
}
