/**
 * Entry point of the browser chat: connects to the master that served this
 * page (Socket.IO at /socket.io, same origin) with the stored session id.
 */
import { io } from 'socket.io-client';
import { askForAccessKey, createAccessKeyStore, isUnauthenticated } from './access-key.js';
import { ChatApp, type ChatSocket } from './chat-app.js';
import { ImageBatchComposer } from './image-batch.js';
import { required } from './dom.js';
import { createSessionStore } from './session-store.js';
import './styles.css';

const store = createSessionStore();
const keys = createAccessKeyStore(safeStorage());

// auth as a function: every reconnect sends the id the master issued most
// recently, and the API key when the master asked for one.
// WebSocket first, long-polling only when a WebSocket cannot be opened (tryAllTransports): one
// TCP connection per session, so a non-sticky balancer in front of several masters (Swarm's routing
// mesh, docs/DEPLOYMENT.md section 12) keeps the session on one master; polling's separate HTTP
// requests could land on another master, which does not know the engine.io session id.
const socket: ChatSocket = io({
  transports: ['websocket', 'polling'],
  tryAllTransports: true,
  auth: (send) => {
    const sessionId = store.get();
    const apiKey = keys.get();
    send({ ...(sessionId !== undefined && { sessionId }), ...(apiKey !== undefined && { apiKey }) });
  },
});
// A master with API keys refuses the handshake without one: ask, then connect again.
socket.on('connect_error', (error) => {
  if (!isUnauthenticated(error)) return;
  const rejected = keys.get() !== undefined;
  keys.set(undefined);
  askForAccessKey(document, keys, () => socket.connect(), rejected);
});

// The `image` kind's composer: shown under the kind picker when `image` is picked.
const images = new ImageBatchComposer({ restBase: '/api/v1', apiKey: () => keys.get() });
required('image-field', HTMLElement).after(images.element);

const app = new ChatApp(
  socket,
  {
    connection: required('connection', HTMLElement),
    connectionLabel: required('connection-label', HTMLElement),
    reconnect: required('reconnect', HTMLButtonElement),
    sessionId: required('session-id', HTMLElement),
    clusterBar: required('cluster-bar', HTMLElement),
    scroller: required('chat-scroller', HTMLElement),
    emptyState: required('empty-state', HTMLElement),
    log: required('chat-log', HTMLOListElement),
    form: required('composer', HTMLFormElement),
    kind: required('kind', HTMLSelectElement),
    delayField: required('delay-field', HTMLElement),
    delay: required('echo-delay', HTMLInputElement),
    imageField: required('image-field', HTMLElement),
    image: required('image', HTMLInputElement),
    apiKeyField: required('api-key-field', HTMLElement),
    apiKey: required('api-key', HTMLInputElement),
    newConversation: required('new-conversation', HTMLButtonElement),
    message: required('message', HTMLTextAreaElement),
    send: required('send', HTMLButtonElement),
    hint: required('composer-hint', HTMLElement),
  },
  store,
  { kindStorage: safeStorage(), images },
);

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

// Handy from the devtools console; not used by the page itself.
Object.assign(window, { taskwire: { app, socket } });
