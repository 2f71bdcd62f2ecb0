/** Entry point of the operator dashboard (served at /dashboard/). */
import { createAccessKeyStore } from '../access-key.js';
import { DashboardApp } from './dashboard-app.js';
import './dashboard.css';

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

void new DashboardApp(createAccessKeyStore(safeStorage())).start();
