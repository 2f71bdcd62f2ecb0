// Original file: proto/taskwire/v1/cluster.proto

export const MasterState = {
  MASTER_STATE_UNSPECIFIED: 'MASTER_STATE_UNSPECIFIED',
  MASTER_STATE_ONLINE: 'MASTER_STATE_ONLINE',
  MASTER_STATE_OFFLINE: 'MASTER_STATE_OFFLINE',
} as const;

export type MasterState =
  | 'MASTER_STATE_UNSPECIFIED'
  | 0
  | 'MASTER_STATE_ONLINE'
  | 1
  | 'MASTER_STATE_OFFLINE'
  | 2

export type MasterState__Output = typeof MasterState[keyof typeof MasterState]
