/**
 * The one hook every submit passes before it is admitted (TaskService.submit
 * and submitMany, so REST, batches, Socket.IO, the OpenAI gateway, KServe and
 * operator retries alike): rate limits, quotas and budgets live in their own
 * rooms (master/limits/, master/billing/) behind this narrow interface.
 *
 * A gate reserves for the requests (or throws, e.g. a ResourceExhaustedError:
 * 429), and hears what became of them: `admitted` with each request's result
 * (a request answered by an earlier task through its idempotency key was not
 * created and gets its reservation back), or `cancel` when the submit failed
 * after the reservation (bad input, a full payload budget).
 */
import type { SubmitRequest } from './task-admission.js';
import type { TaskRecord } from './task-record.js';

export interface AdmissionTicket {
  admitted(results: readonly { task: TaskRecord; created: boolean }[]): void;
  cancel(): void;
}

export interface AdmissionGate {
  /** Reserves for all requests at once (a batch is all or nothing); undefined: nothing to give back. */
  reserve(reqs: readonly SubmitRequest[]): Promise<AdmissionTicket | undefined>;
  /** False while it has nothing to check (no rules): submits skip it without an await (the hot path). */
  active?(): boolean;
}

/** Some gate has something to check. */
export function anyActive(gates: readonly AdmissionGate[]): boolean {
  for (const g of gates) if (g.active?.() ?? true) return true;
  return false;
}

type Admitted = { task: TaskRecord; created: boolean }[];

/** Reserves at every gate in order; a refusal gives back what earlier gates reserved. */
export async function passGates(gates: readonly AdmissionGate[], reqs: readonly SubmitRequest[]): Promise<AdmissionTicket[]> {
  const tickets: AdmissionTicket[] = [];
  try {
    for (const g of gates) {
      const t = await g.reserve(reqs);
      if (t) tickets.push(t);
    }
  } catch (err) {
    for (const t of tickets) t.cancel();
    throw err;
  }
  return tickets;
}

/** Runs the in-memory admission; tells the tickets what became of it. */
export function gated(tickets: readonly AdmissionTicket[] | undefined, admit: () => Admitted): Admitted {
  if (!tickets || tickets.length === 0) return admit();
  let out: Admitted;
  try {
    out = admit();
  } catch (err) {
    for (const t of tickets) t.cancel();
    throw err;
  }
  for (const t of tickets) t.admitted(out);
  return out;
}
