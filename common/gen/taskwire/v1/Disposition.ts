// Original file: proto/taskwire/v1/result_service.proto

export const Disposition = {
  DISPOSITION_UNSPECIFIED: 'DISPOSITION_UNSPECIFIED',
  DISPOSITION_ACCEPTED: 'DISPOSITION_ACCEPTED',
  /**
   * Already accepted earlier (same attempt and token): nothing to do.
   */
  DISPOSITION_DUPLICATE: 'DISPOSITION_DUPLICATE',
  /**
   * Refused: wrong token, superseded attempt, unknown task, ...
   */
  DISPOSITION_REJECTED: 'DISPOSITION_REJECTED',
} as const;

export type Disposition =
  | 'DISPOSITION_UNSPECIFIED'
  | 0
  | 'DISPOSITION_ACCEPTED'
  | 1
  /**
   * Already accepted earlier (same attempt and token): nothing to do.
   */
  | 'DISPOSITION_DUPLICATE'
  | 2
  /**
   * Refused: wrong token, superseded attempt, unknown task, ...
   */
  | 'DISPOSITION_REJECTED'
  | 3

export type Disposition__Output = typeof Disposition[keyof typeof Disposition]
